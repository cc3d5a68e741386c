using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using Orleans.Concurrency;

namespace MeshOs.Grains.Audit;

/// <summary>
/// A stateless worker over the silo's <see cref="IAuditLog"/>: calls interleave, so appends waiting for the group commit
/// do not queue behind each other. An operator's successful mutation is also published as an
/// <see cref="OperatorActionTaken"/> event once its entry is durable (before the operator's answer).
/// </summary>
[StatelessWorker]
[Reentrant]
internal sealed class AuditGrain(IAuditLog log, EventPublisher events) : Grain, IAuditGrain
{
    public async Task<long[]> AppendAsync(AuditDraft[] drafts)
    {
        if (!log.Enabled || drafts.Length == 0)
        {
            return [];
        }

        var entries = await log.AppendAsync(drafts);
        await Task.WhenAll(entries.Select(OperatorAction).OfType<MeshEvent>().Select(events.PublishAsync));
        return [.. entries.Select(e => e.Seq)];
    }

    /// <summary>The event of an operator's successful mutation; null for any other entry.</summary>
    internal static MeshEvent? OperatorAction(AuditEntry entry) =>
        entry.Draft is { Actor.Kind: AuditActorKinds.Operator, Outcome: AuditOutcome.Succeeded } d
            ? new MeshEvent(0, entry.At, new OperatorActionTaken(d.Action, d.Target, entry.Seq), d.Actor.KeyId, d.Tenant, d.CorrelationId ?? d.RequestId)
            : null;

    public Task<AuditPage> QueryAsync(AuditQuery query) => log.QueryAsync(query);

    public Task<AuditVerdict> VerifyAsync(long? from, long? to) => log.VerifyAsync(from, to);
}
