namespace MeshOs.Abstractions.Audit;

/// <summary>
/// The audit log as gateways reach it: a stateless worker on every silo (no singleton on the request path) over that
/// silo's audit store; the store's group commit and the chain's head row keep one chain across silos.
/// </summary>
[Alias("meshos.IAuditGrain")]
public interface IAuditGrain : IGrainWithIntegerKey
{
    /// <summary>Appends the entries in order; returns their seqs once they are durable (empty when auditing is off).</summary>
    [Alias("Append")]
    Task<long[]> AppendAsync(AuditDraft[] drafts);

    /// <summary>A page of entries matching the query, newest first.</summary>
    [Alias("Query")]
    Task<AuditPage> QueryAsync(AuditQuery query);

    /// <summary>Walks the chain over [from, to] (defaults: the oldest kept entry, the head) and names the first broken entry.</summary>
    [Alias("Verify")]
    Task<AuditVerdict> VerifyAsync(long? from, long? to);
}
