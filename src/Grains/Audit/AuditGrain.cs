using MeshOs.Abstractions.Audit;
using Orleans.Concurrency;

namespace MeshOs.Grains.Audit;

/// <summary>
/// A stateless worker over the silo's <see cref="IAuditLog"/>: calls interleave, so appends waiting for the group commit
/// do not queue behind each other.
/// </summary>
[StatelessWorker]
[Reentrant]
internal sealed class AuditGrain(IAuditLog log) : Grain, IAuditGrain
{
    public async Task<long[]> AppendAsync(AuditDraft[] drafts)
    {
        if (!log.Enabled || drafts.Length == 0)
        {
            return [];
        }

        var entries = await Task.WhenAll(drafts.Select(d => log.AppendAsync(d)));
        return [.. entries.Select(e => e!.Seq)];
    }

    public Task<AuditPage> QueryAsync(AuditQuery query) => log.QueryAsync(query);

    public Task<AuditVerdict> VerifyAsync(long? from, long? to) => log.VerifyAsync(from, to);
}
