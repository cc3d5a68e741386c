namespace MeshOs.Abstractions.Audit;

/// <summary>
/// How a gateway hands a mutation's audit entry to the job grain that makes the change, so that the kernel writes the
/// entry in the same transaction as the change: one commit per mutation instead of two. The draft (its outcome
/// "succeeded") rides in the call's <c>RequestContext</c> under <see cref="ContextKey"/>; the job grain answers only
/// once the entry is durable (written with the change, or appended on its own when the change wrote nothing), and a
/// call that fails records nothing there (the gateway records the refusal). See COMPLIANCE.md, "Entries written with
/// the change".
/// </summary>
public static class AuditCarried
{
    public const string ContextKey = "meshos.audit";
}
