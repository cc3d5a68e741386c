using MeshOs.Abstractions.Audit;

namespace MeshOs.Grains.Audit;

/// <summary>
/// The audit entry the current call to a job grain carries (<see cref="AuditCarried"/>). The grain writes it with the
/// change the call makes (in the job store's transaction) or holds it with a change kept in memory until the job's
/// next write, and marks it recorded; <see cref="AuditCarryFilter"/> appends it on its own after a successful call that
/// recorded it nowhere.
/// </summary>
public sealed class AuditCarry
{
    private static readonly AsyncLocal<AuditCarry?> Ambient = new();
    private bool _ended;

    private AuditCarry(AuditDraft draft) => Draft = draft;

    public AuditDraft Draft { get; }

    /// <summary>Whether the grain took charge of the entry (written with its change, or held with it).</summary>
    public bool Recorded { get; private set; }

    /// <summary>
    /// The entry the running call carries and has not recorded yet; null outside such a call and once the call ended
    /// (a timer scheduled during the call, which inherits its context, does not see it).
    /// </summary>
    public static AuditCarry? Current => Ambient.Value is { _ended: false, Recorded: false } carry ? carry : null;

    public void MarkRecorded() => Recorded = true;

    /// <summary>Makes <paramref name="draft"/> the current call's entry (for the rest of the calling async flow).</summary>
    internal static AuditCarry Begin(AuditDraft draft)
    {
        var carry = new AuditCarry(draft);
        Ambient.Value = carry;
        return carry;
    }

    internal void End() => _ended = true;
}

/// <summary>A grain that can write a carried audit entry with its own change: job grains, for entries about themselves.</summary>
public interface IAuditCarrier
{
    /// <summary>Whether an entry about <paramref name="target"/> is this grain's to write.</summary>
    bool Carries(string target);
}

/// <summary>
/// Takes a carried audit entry off an incoming call to the grain it is about (so it goes no further, to the grains
/// that grain calls), makes it the call's <see cref="AuditCarry.Current"/>, and after a successful call that did not
/// record it, appends it to the audit log on its own: the caller's answer follows a durable entry either way.
/// </summary>
internal sealed class AuditCarryFilter(IAuditLog log) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.TargetContext.GrainInstance is not IAuditCarrier carrier
            || RequestContext.Get(AuditCarried.ContextKey) is not AuditDraft draft
            || !carrier.Carries(draft.Target))
        {
            await context.Invoke();
            return;
        }

        RequestContext.Remove(AuditCarried.ContextKey);
        var carry = AuditCarry.Begin(draft);
        try
        {
            await context.Invoke();
        }
        finally
        {
            carry.End();
        }

        if (!carry.Recorded)
        {
            await log.AppendAsync(draft);
        }
    }
}
