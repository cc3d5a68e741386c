using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Compliance;

/// <summary>
/// The data-residency and data-classification policies where this gateway moves a job's data: at submit
/// (<see cref="CheckSubmitAsync"/>: a data class the tenant does not allow) and when its dispatcher is about to lease a
/// job to one of its agents (<see cref="ForLeaseAsync"/>: the agent's region and certifications). The decisions are the
/// pure <see cref="DataPlacement"/>'s; this class reads their inputs through caches (the tenant's rules:
/// <see cref="TenantDataRulesCache"/>; the policies: <see cref="CompliancePolicies"/>), reports the checks made
/// (<see cref="ComplianceReports"/>) and counts the refusals (<c>meshos_compliance_denied_total{policy,stage}</c>).
/// A job whose tenant restricts no region and which carries no data class costs one cached look-up and no policy read.
/// Refusals of enforcing policies are not reported as findings (nothing was violated): they are counted, and a
/// refused submit is in the audit log (as refused); what audit-mode policies let through is reported as a failed check,
/// and passes are reported too, so findings resolve.
/// </summary>
public sealed class DataPlacementChecks
{
    private static readonly Meter Meter = new("MeshOs.Gateway");

    private static readonly Counter<long> Denied = Meter.CreateCounter<long>("meshos.compliance.denied", "{decision}",
        "Actions an enforcing compliance policy refused (stage: submit = a job refused; lease = a job held back from every agent of a dispatcher with room).");

    /// <summary>More remembered reports than this and the memory starts over (a burst of reports is the worst it costs).</summary>
    private const int MaxRemembered = 100_000;

    private readonly TenantDataRulesCache _tenants;
    private readonly Func<ValueTask<PolicySet>> _policies;
    private readonly Action<CheckResult> _report;
    private readonly IOptions<GatewayComplianceOptions> _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string PolicyId, string Subject), (CheckOutcome Outcome, DateTimeOffset At)> _reported = new();

    public DataPlacementChecks(TenantDataRulesCache tenants, CompliancePolicies policies, ComplianceReports reports,
        IOptions<GatewayComplianceOptions> options, TimeProvider time)
        : this(tenants, () => policies.GetAsync(), reports.Report, options, time)
    {
    }

    /// <param name="policies">Reads the policies in force (throws when they cannot be read).</param>
    /// <param name="report">Sends a check to the auditor, never waiting.</param>
    internal DataPlacementChecks(TenantDataRulesCache tenants, Func<ValueTask<PolicySet>> policies, Action<CheckResult> report,
        IOptions<GatewayComplianceOptions> options, TimeProvider time)
    {
        _tenants = tenants;
        _policies = policies;
        _report = report;
        _options = options;
        _time = time;
    }

    /// <summary>How long a job no agent of the dispatcher may take is held back before it is offered again.</summary>
    public TimeSpan HoldBack => _options.Value.LeaseHoldBack;

    /// <summary>
    /// What decides which of the dispatcher's agents may lease a job of <paramref name="tenantId"/> in
    /// <paramref name="pool"/> carrying <paramref name="dataClasses"/>; null when no residency or classification check
    /// can apply (any agent may). Throws when the tenant's rules or the policies cannot be read: the caller must not
    /// hand the job out unchecked.
    /// </summary>
    public async ValueTask<LeaseRule?> ForLeaseAsync(string tenantId, string pool, ImmutableArray<string> dataClasses)
    {
        var tenant = await _tenants.GetAsync(tenantId);
        if (!DataPlacement.AppliesAtLease(tenant, dataClasses))
        {
            return null;
        }

        var policies = await _policies();
        if (!policies.Covering(PolicyRules.DataResidency, tenantId, pool).Any() && !policies.Covering(PolicyRules.DataClassification, tenantId, pool).Any())
        {
            return null;
        }

        return new LeaseRule(this, policies, tenantId, pool, tenant, dataClasses.IsDefault ? [] : dataClasses, _time.GetUtcNow());
    }

    /// <summary>
    /// The classification policies at submit: a job carrying a data class its tenant does not allow is refused
    /// (FailedPrecondition naming the policy) by an enforcing policy; an auditing one lets it through and reports the
    /// failed check (subject <c>tenant/{tenant}/job/{job}</c>). A job without data classes reads nothing.
    /// </summary>
    public async ValueTask CheckSubmitAsync(string tenantId, Guid jobId, JobSpec spec)
    {
        if (spec.Classes.IsEmpty)
        {
            return;
        }

        var tenant = await _tenants.GetAsync(tenantId);
        if (!DataPlacement.AppliesAtSubmit(tenant, spec.Classes))
        {
            return;
        }

        var decision = DataPlacement.AtSubmit(await _policies(), tenantId, spec.Pool, jobId, tenant, spec.Classes, _time.GetUtcNow());
        if (decision.RefusedBy is { } refused)
        {
            Denied.Add(1, new KeyValuePair<string, object?>("policy", refused.PolicyId), new KeyValuePair<string, object?>("stage", "submit"));
            throw decision.Refusal();
        }

        foreach (var check in decision.Checks.Where(c => c.Outcome != CheckOutcome.Skip))
        {
            _report(check);
        }
    }

    /// <summary>Reports a check unless the same outcome of the same (policy, subject) was reported within the last minute.</summary>
    private void ReportDeduplicated(CheckResult check)
    {
        var key = (check.PolicyId, check.Subject);
        if (_reported.TryGetValue(key, out var last) && last.Outcome == check.Outcome && check.CheckedAt - last.At < _options.Value.ReportInterval)
        {
            return;
        }

        if (_reported.Count > MaxRemembered)
        {
            _reported.Clear();
        }

        _reported[key] = (check.Outcome, check.CheckedAt);
        _report(check);
    }

    private static void CountHeldBack(string policyId) =>
        Denied.Add(1, new KeyValuePair<string, object?>("policy", policyId), new KeyValuePair<string, object?>("stage", "lease"));

    /// <summary>
    /// The placement of one taken job: which agents may lease it (<see cref="Allows"/>, pure and cheap, called under
    /// the dispatcher's lock), then what happened (<see cref="Leased"/> or <see cref="HeldBack"/>). Used by one
    /// dispatch of one job, not shared.
    /// </summary>
    public sealed class LeaseRule
    {
        private readonly DataPlacementChecks _checks;
        private readonly PolicySet _policies;
        private readonly string _tenantId;
        private readonly string _pool;
        private readonly TenantDataRules _tenant;
        private readonly ImmutableArray<string> _dataClasses;
        private readonly DateTimeOffset _now;
        private readonly Dictionary<string, EnforcementDecision> _decisions = new(StringComparer.Ordinal);

        internal LeaseRule(DataPlacementChecks checks, PolicySet policies, string tenantId, string pool, TenantDataRules tenant,
            ImmutableArray<string> dataClasses, DateTimeOffset now)
        {
            _checks = checks;
            _policies = policies;
            _tenantId = tenantId;
            _pool = pool;
            _tenant = tenant;
            _dataClasses = dataClasses;
            _now = now;
        }

        /// <summary>The first refusal met by <see cref="Allows"/>, if any.</summary>
        public CheckResult? Refusal { get; private set; }

        /// <summary>Whether the enforcing policies let the agent lease the job.</summary>
        public bool Allows(AgentRegistration agent)
        {
            var decision = Decide(agent);
            if (decision.RefusedBy is { } refused)
            {
                Refusal ??= refused;
                return false;
            }

            return true;
        }

        /// <summary>The job goes to <paramref name="agent"/>: its checks are reported (audit failures and passes, once a minute each).</summary>
        public void Leased(AgentRegistration agent)
        {
            foreach (var check in Decide(agent).Checks.Where(c => c.Outcome != CheckOutcome.Skip))
            {
                _checks.ReportDeduplicated(check);
            }
        }

        /// <summary>The job is held back: every agent with room was refused. Counted once, by the first refusing policy.</summary>
        public void HeldBack() => CountHeldBack(Refusal?.PolicyId ?? "unknown");

        private EnforcementDecision Decide(AgentRegistration agent)
        {
            if (!_decisions.TryGetValue(agent.AgentId, out var decision))
            {
                var facts = new AgentFacts(agent.AgentId, agent.Owner, agent.Pool, agent.Version, agent.Region, agent.Certifications.IsDefault ? [] : agent.Certifications);
                decision = DataPlacement.AtLease(_policies, _tenantId, _pool, _tenant, _dataClasses, facts, _now);
                _decisions[agent.AgentId] = decision;
            }

            return decision;
        }
    }
}
