using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Compliance;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Compliance;

/// <summary>
/// The compliance auditor (<see cref="IComplianceGrain"/>). It keeps the policies (the defaults of
/// <see cref="PolicyCatalog"/> on a new mesh) and advisories, takes the checks the gateways make at submit, lease and
/// the operator gate, and scans periodically itself: every connected agent's version against the advisories, every
/// active operator key's hygiene. Each check updates its (policy, subject)'s finding (<see cref="ComplianceLedger"/>).
/// An enforcing agent-version policy drains the agents past their patch deadline; each drain is audited.
/// </summary>
internal sealed partial class ComplianceGrain(
    [PersistentState("compliance", MeshStorage.GrainStore)] IPersistentState<ComplianceState> state,
    IOptions<ComplianceOptions> options,
    IOptions<AgentOptions> agentOptions,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<ComplianceGrain> logger,
    IAuditLog? audit = null) : Grain, IComplianceGrain, IRemindable
{
    /// <summary>The auditor's name as an actor in the audit log and in findings' history.</summary>
    public const string Component = FindingLifecycle.Auditor;

    private static readonly TimeSpan SaveEvery = TimeSpan.FromSeconds(2);
    private const int AgentReadsAtOnce = 64;

    private readonly ComplianceOptions _options = options.Value;
    private readonly HashSet<string> _drained = new(StringComparer.Ordinal);
    private ComplianceLedger _ledger = null!;
    private PolicySet _set = null!;
    private bool _dirty;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ledger = new ComplianceLedger(state.State);
        if (!state.State.Seeded)
        {
            foreach (var policy in PolicyCatalog.Defaults)
            {
                state.State.Policies[policy.Id] = policy;
            }

            state.State.Seeded = true;
            state.State.Version++;
            await state.WriteStateAsync(cancellationToken);
        }

        RebuildSet();
        this.RegisterGrainTimer(static (self, _) => self.SaveIfDirtyAsync(), this,
            new GrainTimerCreationOptions { DueTime = SaveEvery, Period = SaveEvery, Interleave = false, KeepAlive = true });
        if (_options.Enabled)
        {
            this.RegisterGrainTimer(static (self, _) => self.ScanQuietlyAsync(), this,
                new GrainTimerCreationOptions { DueTime = _options.FirstScanDelay, Period = _options.ScanInterval, Interleave = false, KeepAlive = true });
            await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public Task<PolicySet> GetPoliciesAsync() => Task.FromResult(_set);

    public async Task<CompliancePolicy> PutPolicyAsync(CompliancePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy = policy with { Settings = policy.Settings ?? ImmutableDictionary<string, string>.Empty };
        PolicyCatalog.Validate(policy);
        state.State.Policies[policy.Id] = policy;
        await ChangedAsync();
        return policy;
    }

    public async Task DeletePolicyAsync(string policyId)
    {
        if (policyId is null || !state.State.Policies.Remove(policyId))
        {
            throw MeshException.NotFound($"Policy '{policyId}'");
        }

        _ledger.RemovePolicy(policyId, time.GetUtcNow());
        await ChangedAsync();
    }

    public async Task<VulnerabilityAdvisory> PutAdvisoryAsync(VulnerabilityAdvisory advisory)
    {
        ArgumentNullException.ThrowIfNull(advisory);
        AdvisoryRules.Validate(advisory);
        state.State.Advisories[advisory.Id] = advisory;
        await ChangedAsync();
        return advisory;
    }

    public async Task DeleteAdvisoryAsync(string advisoryId)
    {
        if (advisoryId is null || !state.State.Advisories.Remove(advisoryId))
        {
            throw MeshException.NotFound($"Advisory '{advisoryId}'");
        }

        await ChangedAsync();
    }

    public async Task ReportAsync(ImmutableArray<CheckResult> checks)
    {
        foreach (var check in checks.IsDefault ? [] : checks)
        {
            if (check is null)
            {
                continue;
            }

            _dirty |= _ledger.Apply(check);
            await EnforceAsync(check);
        }
    }

    public Task<FindingPage> GetFindingsAsync(FindingQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Task.FromResult(_ledger.Query(query, time.GetUtcNow()));
    }

    public async Task<ComplianceFinding> WaiveAsync(string policyId, string subject, string reason, DateTimeOffset until, string by)
    {
        var waived = _ledger.Waive(policyId, subject, reason, until, by, time.GetUtcNow());
        await state.WriteStateAsync();
        _dirty = false;
        return waived;
    }

    public Task<ComplianceReport> GetScoreAsync(string? tenantId) => Task.FromResult(_ledger.Report(tenantId, time.GetUtcNow()));

    public async Task<ComplianceReport> ScanAsync()
    {
        await ScanCoreAsync();
        return _ledger.Report(null, time.GetUtcNow());
    }

    private async Task ScanQuietlyAsync()
    {
        try
        {
            await ScanCoreAsync();
        }
        catch (Exception ex)
        {
            LogScanFailed(ex);
        }
    }

    /// <summary>One full pass: agents against the advisories, operator keys against key hygiene; then history and pruning.</summary>
    private async Task ScanCoreAsync()
    {
        var now = time.GetUtcNow();
        var versionPolicies = PoliciesOf(PolicyRules.AgentVersion);
        var seenAgents = new HashSet<string>(StringComparer.Ordinal);
        if (versionPolicies.Count > 0)
        {
            var advisories = state.State.Advisories.Values.ToList();
            foreach (var batch in (await ListAgentsAsync()).Chunk(AgentReadsAtOnce))
            {
                var infos = await Task.WhenAll(batch.Select(a => GrainFactory.GetGrain<IAgentGrain>(a.AgentId).GetAsync()));
                foreach (var info in infos.OfType<AgentInfo>().Where(i => i.State != AgentState.Offline))
                {
                    var r = info.Registration;
                    var facts = new AgentFacts(r.AgentId, r.Owner, r.Pool, r.Version, r.Region, []);
                    var tenant = r.Owner == AgentPools.PlatformOwner ? null : r.Owner;
                    seenAgents.Add($"agent/{r.AgentId}");
                    foreach (var policy in versionPolicies.Where(p => p.Scope.Covers(tenant, r.Pool)))
                    {
                        var check = ComplianceRules.AgentVersion(policy, facts, advisories, now);
                        _ledger.Apply(check);
                        await EnforceAsync(check, info.State);
                    }
                }
            }
        }

        _ledger.Forget(IdsOf(PolicyRules.AgentVersion), seenAgents, "the agent is offline or gone", now);

        var keyPolicies = PoliciesOf(PolicyRules.KeyHygiene);
        var seenKeys = new HashSet<string>(StringComparer.Ordinal);
        if (keyPolicies.Count > 0)
        {
            var review = await GrainFactory.GetGrain<IOperatorKeysGrain>(0).ReviewAsync();
            foreach (var key in review.Keys.Select(k => k.Key).Where(k => k.RevokedAt is null))
            {
                var facts = new OperatorKeyFacts(key.KeyId, key.Scope, key.CreatedAt, key.LastUsedAt, [.. key.UsedScopes]);
                seenKeys.Add($"operator-key/{key.KeyId}");
                foreach (var policy in keyPolicies)
                {
                    _ledger.Apply(ComplianceRules.KeyHygiene(policy, facts, now));
                }
            }
        }

        _ledger.Forget(IdsOf(PolicyRules.KeyHygiene), seenKeys, "the key was revoked", now);
        _ledger.ExpireReported(IdsOf(PolicyRules.DataResidency, PolicyRules.DataClassification, PolicyRules.ProductionMfa), _options.ReportedCheckLifetime, now);
        _ledger.RecordHistory(now, _options.ScoreHistoryInterval, _options.ScoreHistoryRetention);
        _ledger.Prune(now, _options.ResolvedFindingRetention, _options.MaxFindings);
        state.State.LastScanAt = now;
        await state.WriteStateAsync();
        _dirty = false;
    }

    private async Task<IEnumerable<AgentSummary>> ListAgentsAsync()
    {
        var shards = await Task.WhenAll(Enumerable.Range(0, agentOptions.Value.DirectoryShards)
            .Select(shard => GrainFactory.GetGrain<IAgentDirectoryGrain>(shard).ListAsync(null, null, int.MaxValue)));
        return shards.SelectMany(s => s).Where(a => a.State != AgentState.Offline);
    }

    /// <summary>
    /// An enforcing agent-version policy drains an agent past its patch deadline (once per activation: a drained agent
    /// takes no new work until it re-registers, patched or not, and is checked again then).
    /// </summary>
    private async Task EnforceAsync(CheckResult check, AgentState? known = null)
    {
        if (check.Outcome != CheckOutcome.Fail || !check.Subject.StartsWith("agent/", StringComparison.Ordinal)
            || !state.State.Policies.TryGetValue(check.PolicyId, out var policy)
            || policy is not { Rule: PolicyRules.AgentVersion, Mode: PolicyMode.Enforce })
        {
            return;
        }

        var agentId = check.Subject["agent/".Length..];
        if (known is AgentState.Draining or AgentState.Offline || !_drained.Add(agentId))
        {
            return;
        }

        try
        {
            await GrainFactory.GetGrain<IAgentGrain>(agentId).DrainAsync($"Compliance policy '{policy.Id}' (enforce): {check.Message}");
            if (audit is { Enabled: true })
            {
                await audit.AppendAsync(new AuditDraft(AuditActor.System(Component), "compliance.drain", "agent/" + agentId, check.TenantId,
                    AuditOutcome.Succeeded, null, null, null, "internal",
                    new AuditChange().Add("policy", policy.Id).Add("detail", check.Message).Digest()));
            }
        }
        catch (Exception ex)
        {
            _drained.Remove(agentId);
            LogDrainFailed(ex, agentId, policy.Id);
        }
    }

    private List<CompliancePolicy> PoliciesOf(string rule) => [.. state.State.Policies.Values.Where(p => p.Enabled && p.Rule == rule)];

    private HashSet<string> IdsOf(params string[] rules) =>
        new(state.State.Policies.Values.Where(p => rules.Contains(p.Rule)).Select(p => p.Id), StringComparer.Ordinal);

    private async Task ChangedAsync()
    {
        state.State.Version++;
        await state.WriteStateAsync();
        _dirty = false;
        RebuildSet();
    }

    private void RebuildSet() => _set = new PolicySet(state.State.Version,
        [.. state.State.Policies.Values.OrderBy(p => p.Id, StringComparer.Ordinal)],
        [.. state.State.Advisories.Values.OrderBy(a => a.Id, StringComparer.Ordinal)]);

    private async Task SaveIfDirtyAsync()
    {
        if (!_dirty)
        {
            return;
        }

        try
        {
            await state.WriteStateAsync();
            _dirty = false;
        }
        catch (Exception ex)
        {
            LogSaveFailed(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The compliance scan failed; the next one runs at its time.")]
    private partial void LogScanFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId} could not be drained for policy {PolicyId}; the next scan tries again.")]
    private partial void LogDrainFailed(Exception exception, string agentId, string policyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The compliance findings could not be saved; retrying.")]
    private partial void LogSaveFailed(Exception exception);
}

/// <summary>The rules an operator's advisory must keep.</summary>
public static class AdvisoryRules
{
    public static void Validate(VulnerabilityAdvisory advisory)
    {
        if (advisory.Id is not { Length: >= 1 and <= 64 } id || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw MeshException.Invalid("id", "1–64 of letters, digits, - _ . (e.g. CVE-2026-1234).");
        }

        if (advisory.Cvss is < 0m or > 10m)
        {
            throw MeshException.Invalid("cvss", "a CVSS base score, 0.0–10.0.");
        }

        if (!AgentVersionComparer.IsWellFormed(advisory.FixedIn))
        {
            throw MeshException.Invalid("fixedIn", "the first fixed version: dot-separated numbers, e.g. 1.4.2.");
        }

        if (advisory.IntroducedIn is { } introduced
            && (!AgentVersionComparer.IsWellFormed(introduced) || AgentVersionComparer.Instance.Compare(introduced, advisory.FixedIn) >= 0))
        {
            throw MeshException.Invalid("introducedIn", "a version before fixedIn, or absent for every earlier version.");
        }

        if (advisory.PublishedAt == default)
        {
            throw MeshException.Invalid("publishedAt", "required: when the advisory was published (its patch window starts then).");
        }

        if (advisory.Summary is { Length: > 500 })
        {
            throw MeshException.Invalid("summary", "at most 500 characters.");
        }
    }
}
