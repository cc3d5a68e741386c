using MeshOs.Abstractions.Audit;

namespace MeshOs.Gateway.Audit;

/// <summary>
/// A mutation's entry, as it will read if the mutation succeeds, offered to the job grain call that makes the change
/// (<see cref="AuditCarried"/>): the kernel writes it in the change's own transaction.
/// </summary>
public sealed class CarriedEntry(AuditDraft draft)
{
    private volatile bool _delivered;

    public AuditDraft Draft { get; } = draft;

    /// <summary>Whether a call that carried it succeeded: the kernel answered once the entry was durable.</summary>
    public bool Delivered => _delivered;

    internal void MarkDelivered() => _delivered = true;
}

/// <summary>
/// Where a gateway hands a mutation's entry to the job grain it calls. <see cref="Mutations"/> offers the entry for the
/// flow of the change; the call site that calls the job grain making the change wraps that call in
/// <see cref="CarryAsync{T}"/>, which carries the entry in the call's <c>RequestContext</c> only when it is about that
/// very job. Any other grain call of the change (a budget check, a policy) carries nothing.
/// </summary>
public static class AuditCarriage
{
    private static readonly AsyncLocal<CarriedEntry?> Offered = new();

    /// <summary>Offers <paramref name="entry"/> (or none) to the job grain calls of the rest of the calling flow.</summary>
    internal static void Offer(CarriedEntry? entry) => Offered.Value = entry;

    /// <summary>
    /// Makes <paramref name="call"/> to job <paramref name="jobId"/> (with its retries), carrying the offered entry
    /// when it is about that job; once the call succeeds the entry is durable (<see cref="CarriedEntry.Delivered"/>).
    /// </summary>
    public static async Task<T> CarryAsync<T>(Guid jobId, Func<Task<T>> call)
    {
        if (Offered.Value is not { Delivered: false } entry || entry.Draft.Target != MeshTargets.Job(jobId))
        {
            return await call();
        }

        RequestContext.Set(AuditCarried.ContextKey, entry.Draft);
        try
        {
            var result = await call();
            entry.MarkDelivered();
            return result;
        }
        finally
        {
            RequestContext.Remove(AuditCarried.ContextKey);
        }
    }

    /// <inheritdoc cref="CarryAsync{T}"/>
    public static Task CarryAsync(Guid jobId, Func<Task> call) => CarryAsync(jobId, async () =>
    {
        await call();
        return true;
    });
}
