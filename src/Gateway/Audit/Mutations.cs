using MeshOs.Abstractions;
using MeshOs.Abstractions.Audit;
using MeshOs.Gateway.Auth;

namespace MeshOs.Gateway.Audit;

/// <summary>How a mutation ended.</summary>
public enum MutationOutcome
{
    /// <summary>It was carried out.</summary>
    Succeeded,

    /// <summary>It was refused for a reason the caller can act on (invalid, not found, not allowed, …): nothing changed.</summary>
    Refused,

    /// <summary>It failed for a reason of the mesh's own (unavailable, a fault).</summary>
    Failed,
}

/// <summary>One mutation as a recorder sees it: who did what to which object, when, and how it ended.</summary>
/// <param name="Action">What was done, one of <see cref="MeshActions"/>.</param>
/// <param name="Target">What it was done to: <c>job/{id}</c>, <c>agent/{id}</c>, <c>tenant/{id}</c>, <c>tenant/{id}/key/{keyId}</c>, <c>incident/{id}</c> (see <see cref="MeshTargets"/>).</param>
/// <param name="Code">For a refusal, its code.</param>
/// <param name="ChangeDigest">SHA-256 of the change's canonical summary (<see cref="AuditChange"/>); null only for a refusal made before any service ran.</param>
public sealed record MutationRecord(
    DateTimeOffset At,
    MeshCaller Caller,
    string Action,
    string Target,
    MutationOutcome Outcome,
    MeshErrorCode? Code,
    string? ChangeDigest = null);

/// <summary>
/// Learns of every mutation the application services carry out or refuse, with its actor. The audit log
/// (<see cref="AuditRecorder"/>) is one, registered unless <c>MeshOs:Audit:Enabled</c> is false.
/// </summary>
public interface IMutationRecorder
{
    /// <summary>
    /// Called once the mutation ended, on the caller's path: the answer waits for it, so a recorder that keeps a durable
    /// record returns once it is durable. Throwing makes the answer Unavailable (the change may have been made).
    /// </summary>
    ValueTask RecordAsync(MutationRecord record);

    /// <summary>
    /// The entry this recorder would make of <paramref name="success"/>, when the kernel may write it with the change
    /// itself (<see cref="AuditCarriage"/>); null to record it here. When the kernel did, <see cref="RecordAsync"/> is
    /// not called for the success.
    /// </summary>
    AuditDraft? Carriable(MutationRecord success) => null;
}

/// <summary>
/// The one place every mutating service method passes through: it runs the change and tells the registered
/// <see cref="IMutationRecorder"/>s who did what to which object and how it ended, and answers only once they have
/// it (the audit entry is durable before the caller hears of the change). With no recorder it only runs the change.
/// </summary>
public sealed class Mutations(IEnumerable<IMutationRecorder> recorders, TimeProvider time)
{
    private readonly IMutationRecorder[] _recorders = [.. recorders];

    /// <summary>
    /// Runs the change; <paramref name="summary"/> says what was asked (<see cref="ChangeSummaries"/>): its digest goes
    /// into the record, so every mutation's entry has one.
    /// </summary>
    public Task<T> RunAsync<T>(MeshCaller caller, string action, string target, AuditChange summary, Func<Task<T>> change) =>
        _recorders.Length == 0 ? change() : RecordedAsync(caller, action, target, summary, change);

    public Task RunAsync(MeshCaller caller, string action, string target, AuditChange summary, Func<Task> change) =>
        _recorders.Length == 0 ? change() : RecordedAsync(caller, action, target, summary, async () =>
        {
            await change();
            return true;
        });

    /// <summary>
    /// Records a refusal made before any service ran (a failed authentication, the operator scope gate): nothing was
    /// changed, only the record is made. Throws Unavailable when a recorder cannot keep it.
    /// </summary>
    public Task RecordRefusalAsync(MeshCaller caller, string action, string target, MeshErrorCode code) =>
        RecordAsync(caller, action, target, null, (MutationOutcome.Refused, code));

    private async Task<T> RecordedAsync<T>(MeshCaller caller, string action, string target, AuditChange summary, Func<Task<T>> change)
    {
        var digest = summary.Digest();
        var (carrier, carried) = Carrier(new MutationRecord(time.GetUtcNow(), caller, action, target, MutationOutcome.Succeeded, null, digest));
        T result;
        try
        {
            AuditCarriage.Offer(carried);
            result = await change();
        }
        catch (Exception ex)
        {
            await RecordAsync(caller, action, target, digest, ex is MeshException { Code: not MeshErrorCode.Unavailable } refusal
                ? (MutationOutcome.Refused, refusal.Code)
                : (MutationOutcome.Failed, (MeshErrorCode?)null));
            throw;
        }
        finally
        {
            AuditCarriage.Offer(null);
        }

        await RecordAsync(caller, action, target, digest, (MutationOutcome.Succeeded, null), carried is { Delivered: true } ? carrier : null);
        return result;
    }

    /// <summary>The recorder whose entry of the success the kernel may write with the change, and that entry; else nulls.</summary>
    private (IMutationRecorder? Recorder, CarriedEntry? Entry) Carrier(MutationRecord success)
    {
        foreach (var recorder in _recorders)
        {
            if (recorder.Carriable(success) is { } draft)
            {
                return (recorder, new CarriedEntry(draft));
            }
        }

        return (null, null);
    }

    private async Task RecordAsync(MeshCaller caller, string action, string target, string? digest, (MutationOutcome Outcome, MeshErrorCode? Code) end,
        IMutationRecorder? recorded = null)
    {
        var record = new MutationRecord(time.GetUtcNow(), caller, action, target, end.Outcome, end.Code, digest);
        foreach (var recorder in _recorders)
        {
            if (ReferenceEquals(recorder, recorded))
            {
                continue; // the kernel wrote its entry with the change
            }

            try
            {
                await recorder.RecordAsync(record);
            }
            catch (Exception ex) when (ex is not MeshException { Code: MeshErrorCode.Unavailable })
            {
                throw new MeshException("The change could not be recorded in the audit log, so it is not acknowledged (it may have been made; retry it).", ex)
                {
                    Code = MeshErrorCode.Unavailable,
                };
            }
        }
    }
}

/// <summary>The names of the mutations, as recorders (and the audit log) see them.</summary>
public static class MeshActions
{
    public const string SubmitJob = "jobs.submit";
    public const string CancelJob = "jobs.cancel";

    public const string RegisterAgent = "agent.register";
    public const string Heartbeat = "agent.heartbeat";
    public const string Lease = "agent.lease";
    public const string StartJob = "agent.start";
    public const string CompleteJob = "agent.complete";
    public const string FailJob = "agent.fail";
    public const string ReleaseJob = "agent.release";

    public const string DrainAgent = "agents.drain";
    public const string DeregisterAgent = "agents.deregister";
    public const string QuarantineAgent = "agents.quarantine";
    public const string ReleaseAgent = "agents.release";
    public const string RestartAgent = "agents.restart";

    public const string CreateTenant = "tenants.create";
    public const string UpdateTenant = "tenants.update";
    public const string DisableTenant = "tenants.disable";
    public const string EnableTenant = "tenants.enable";
    public const string IssueKey = "tenants.keys.issue";
    public const string RevokeKey = "tenants.keys.revoke";
    public const string GrantPool = "tenants.grants.grant";
    public const string RevokePoolGrant = "tenants.grants.revoke";

    public const string OpenIncident = "incidents.open";
    public const string AcknowledgeIncident = "incidents.acknowledge";
    public const string AssignIncident = "incidents.assign";
    public const string AnnotateIncident = "incidents.annotate";
    public const string AdvanceIncident = "incidents.advance";
    public const string ResolveIncident = "incidents.resolve";
    public const string AttachPostMortem = "incidents.postmortem";

    public const string AuthFailure = "auth.failure";
    public const string AuthLockout = "auth.lockout";
    public const string ScopeDenied = "auth.scope-denied";
    public const string IssueOperatorKey = "operator-keys.issue";
    public const string RevokeOperatorKey = "operator-keys.revoke";
    public const string EnrolOperatorKeyMfa = "operator-keys.mfa.enrol";
    public const string ConfirmOperatorKeyMfa = "operator-keys.mfa.confirm";
    public const string RemoveOperatorKeyMfa = "operator-keys.mfa.remove";

    /// <summary>A production action refused by an enforcing <c>production-mfa</c> policy: no TOTP code was given.</summary>
    public const string MfaRequired = "auth.mfa-required";

    /// <summary>A production action refused by an enforcing <c>production-mfa</c> policy: the code was wrong, used before, or the key has no TOTP.</summary>
    public const string MfaInvalid = "auth.mfa-invalid";
    public const string ReadJobPayload = "jobs.read";

    public const string PutPolicy = "compliance.policies.put";
    public const string DeletePolicy = "compliance.policies.delete";
    public const string PutAdvisory = "compliance.advisories.put";
    public const string DeleteAdvisory = "compliance.advisories.delete";
    public const string WaiveFinding = "compliance.findings.waive";
    public const string ScanCompliance = "compliance.scan";

    public const string PutBudget = "budgets.put";
    public const string DeleteBudget = "budgets.delete";
    public const string PutRateCard = "cost.rate-cards.put";
    public const string DeleteRateCard = "cost.rate-cards.delete";
    public const string ApplyRecommendation = "cost.recommendations.apply";
    public const string DismissRecommendation = "cost.recommendations.dismiss";
    public const string PutAutoscalePolicy = "cost.autoscale.put";
    public const string ScheduleMaintenance = "maintenance.schedule";
    public const string CancelMaintenance = "maintenance.cancel";
}

/// <summary>How mutation targets are named.</summary>
public static class MeshTargets
{
    public static string Job(Guid jobId) => "job/" + jobId.ToString("D");

    /// <summary>A job as the caller named it (perhaps not a job id at all: the change is then refused).</summary>
    public static string Job(string? jobId) => "job/" + jobId;

    public static string Agent(string agentId) => "agent/" + agentId;

    public static string Tenant(string tenantId) => "tenant/" + tenantId;

    public static string Key(string tenantId, string keyId) => $"tenant/{tenantId}/key/{keyId}";

    public static string Incident(string incidentId) => "incident/" + incidentId;

    public static string OperatorKey(string keyId) => "operator-key/" + keyId;

    public static string Policy(string policyId) => "policy/" + policyId;

    public static string Advisory(string advisoryId) => "advisory/" + advisoryId;

    public static string Finding(string policyId, string subject) => $"finding/{policyId}/{subject}";

    /// <summary>A tenant's budget (tenants read entries about it: the target names the tenant).</summary>
    public static string Budget(string tenantId, string name) => $"tenant/{tenantId}/budget/{name}";
    public static string RateCard(string cardId) => "rate-card/" + cardId;

    /// <summary>A cost recommendation (automatic applies are recorded by the advisor under the same target).</summary>
    public static string Recommendation(string id) => "recommendation/" + id;

    /// <summary>A pool's autoscale policy.</summary>
    public static string Autoscale(string pool) => "autoscale/" + pool;

    /// <summary>A maintenance window (a new one is named by its start: its id is made by the calendar).</summary>
    public static string Maintenance(string id) => "maintenance/" + id;

    /// <summary>A client address (an authentication lockout's target).</summary>
    public static string Address(string address) => "address/" + address;

    /// <summary>An endpoint a call was refused at before it reached a service: <c>endpoint/{METHOD} {path}</c>.</summary>
    public static string Endpoint(string method, string path) => $"endpoint/{method} {path}";

    /// <summary>An incident named by its dedup key (an incident opened by hand has no id yet).</summary>
    public static string IncidentKey(string dedupKey) => "incident-key/" + dedupKey;
}
