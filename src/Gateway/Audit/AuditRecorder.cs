using MeshOs.Abstractions.Audit;
using MeshOs.Gateway.Auth;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Audit;

/// <summary>The gateway's side of <c>MeshOs:Audit</c> (the silo reads the same section for its store, key and retention).</summary>
public sealed class AuditRecordingOptions
{
    public const string Section = "MeshOs:Audit";

    /// <summary>Whether mutations and security decisions are recorded. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Actions whose successes are not recorded: liveness traffic that changes nothing an auditor asks about. Their
    /// refusals and failures are still recorded. Default <c>agent.heartbeat</c>.
    /// </summary>
    public List<string> SkipSucceeded { get; set; } = [MeshActions.Heartbeat];

    /// <summary>
    /// How long one try of an append may take before it is given up and tried again. A call in flight through a silo
    /// that dies gets no answer until the cluster client's response timeout (30 s); the retry goes through a live one.
    /// Default 2 s.
    /// </summary>
    public TimeSpan AppendTryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an append is retried after a silo failed (or a try timed out) before the caller's answer is Unavailable
    /// (the change may have been made: the caller retries it). Default 4 s.
    /// </summary>
    public TimeSpan AppendRetryBudget { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// How many append calls a gateway has in flight to the audit log at once. Entries that arrive while all are busy
    /// wait and go together in the next call (a group commit at the gateway: one cluster call for many entries). At
    /// low load every entry goes at once; under load a job's four entries cost a share of a call instead of four.
    /// 1–64, default 4.
    /// </summary>
    public int MaxAppendsInFlight { get; set; } = 4;

    /// <summary>The most entries one append call carries (the rest go in the next). 1–10,000, default 512.</summary>
    public int MaxAppendBatch { get; set; } = 512;

    /// <summary>
    /// Whether the entries of a job's successful submit, start, complete and fail are written by the kernel in the job
    /// change's own transaction (one commit per mutation) rather than appended after it (two). Refusals and failures
    /// are always appended by the gateway. Default true; see COMPLIANCE.md, "Entries written with the change".
    /// </summary>
    public bool WriteWithChange { get; set; } = true;
}

/// <summary>
/// Appends an audit entry for every mutation (and the security decisions the gateway takes) through the silos' audit
/// grain, and waits until it is durable: the caller's answer follows its entry. Entries are group-committed at the
/// gateway: at most <see cref="AuditRecordingOptions.MaxAppendsInFlight"/> append calls are in flight, and the entries
/// that arrive meanwhile go together in the next one. A call cut short by a failing silo is made again, so an entry can
/// be stored twice then (both copies are chained and verify); never not at all.
/// </summary>
public sealed class AuditRecorder : IMutationRecorder
{
    /// <summary>The actions whose success is one job grain call that writes the job: the kernel can write their entries with the change.</summary>
    private static readonly HashSet<string> JobChanges = new(
        [MeshActions.SubmitJob, MeshActions.StartJob, MeshActions.CompleteJob, MeshActions.FailJob], StringComparer.Ordinal);

    private readonly HashSet<string> _skipSucceeded;
    private readonly bool _writeWithChange;
    private readonly GroupedSender<AuditDraft> _appends;

    public AuditRecorder(IGrainFactory grains, IOptions<AuditRecordingOptions> options, TimeProvider time)
    {
        var o = options.Value;
        _skipSucceeded = new(o.SkipSucceeded, StringComparer.Ordinal);
        _writeWithChange = o.WriteWithChange;
        var limits = new Errors.RetryLimits(o.AppendTryTimeout, o.AppendRetryBudget);
        _appends = new GroupedSender<AuditDraft>(
            drafts => Errors.FailoverRetry.RunAsync(() => grains.GetGrain<IAuditGrain>(0).AppendAsync([.. drafts]), limits, time),
            o.MaxAppendsInFlight, o.MaxAppendBatch);
    }

    public ValueTask RecordAsync(MutationRecord record)
    {
        if (record.Outcome == MutationOutcome.Succeeded && _skipSucceeded.Contains(record.Action))
        {
            return ValueTask.CompletedTask;
        }

        return new ValueTask(AppendAsync(Draft(record).Storable()));
    }

    public AuditDraft? Carriable(MutationRecord success) =>
        _writeWithChange && JobChanges.Contains(success.Action) && !_skipSucceeded.Contains(success.Action) ? Draft(success).Storable() : null;

    /// <summary>
    /// Appends one entry and completes once it is durable. It goes in the next append call; a call that a silo failure
    /// (or silence) cut short is made again within <see cref="AuditRecordingOptions.AppendRetryBudget"/>.
    /// </summary>
    public Task AppendAsync(AuditDraft draft) => _appends.SendAsync(draft);

    public static AuditDraft Draft(MutationRecord record) => new(
        Actor(record.Caller),
        record.Action,
        record.Target,
        TenantOf(record.Caller, record.Target),
        record.Outcome switch
        {
            MutationOutcome.Succeeded => AuditOutcome.Succeeded,
            MutationOutcome.Refused => AuditOutcome.Refused,
            _ => AuditOutcome.Failed,
        },
        record.Code?.ToString(),
        record.Caller.RequestId,
        record.Caller.CorrelationId,
        Transport(record.Caller.Transport),
        record.ChangeDigest);

    public static AuditActor Actor(MeshCaller caller) => new(
        caller.Kind switch
        {
            CallerKind.Operator => AuditActorKinds.Operator,
            CallerKind.Tenant => AuditActorKinds.Tenant,
            CallerKind.PlatformAgent => AuditActorKinds.Agent,
            _ => AuditActorKinds.Anonymous,
        },
        caller.KeyId,
        caller.TenantId,
        caller.RemoteAddress?.ToString());

    public static string Transport(ApiTransport transport) => transport switch
    {
        ApiTransport.Rest => "rest",
        ApiTransport.Grpc => "grpc",
        _ => "internal",
    };

    /// <summary>
    /// The tenant whose object the entry is about (tenants read those): a tenant caller's own; for an operator, the
    /// tenant its target names (<c>tenant/{id}…</c>); otherwise none (operators only).
    /// </summary>
    public static string? TenantOf(MeshCaller caller, string target)
    {
        if (caller.TenantId is { } own)
        {
            return own;
        }

        const string prefix = "tenant/";
        if (target.StartsWith(prefix, StringComparison.Ordinal))
        {
            var rest = target.AsSpan(prefix.Length);
            var slash = rest.IndexOf('/');
            return (slash < 0 ? rest : rest[..slash]).ToString();
        }

        return null;
    }
}
