using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using Microsoft.Extensions.DependencyInjection;

namespace MeshOs.Grains.Compliance;

/// <summary>
/// Keeps the auditor continuous between its scans: reads the event log and checks an agent's version against the
/// advisories as soon as it registers or changes state, and takes a gone agent out of the score (a Skip resolves its
/// findings). Stateless: its pump keeps the cursor, and checks are idempotent, so a redelivered batch only repeats them.
/// </summary>
internal sealed class ComplianceWatcherGrain([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time)
    : Grain, IComplianceWatcherGrain, IMeshEventHandler<AgentStateChanged>
{
    private readonly Dictionary<string, AgentStateChanged> _changed = new(StringComparer.Ordinal);

    public async Task OnEventsAsync(ImmutableArray<MeshEvent> events)
    {
        _changed.Clear();
        foreach (var e in events)
        {
            MeshEventDispatch.Dispatch(this, e);
        }

        if (_changed.Count == 0)
        {
            return;
        }

        var auditor = GrainFactory.GetGrain<IComplianceGrain>(0);
        var set = await auditor.GetPoliciesAsync();
        var checks = AgentVersionChecks.For(set, _changed.Values, time.GetUtcNow());
        if (!checks.IsEmpty)
        {
            await auditor.ReportAsync(checks);
        }
    }

    public void Handle(MeshEvent envelope, AgentStateChanged payload) => _changed[payload.AgentId] = payload; // the last change of a batch counts
}

/// <summary>The agent-version checks of agents' state changes, pure.</summary>
public static class AgentVersionChecks
{
    public static ImmutableArray<CheckResult> For(PolicySet set, IEnumerable<AgentStateChanged> changes, DateTimeOffset now)
    {
        var checks = ImmutableArray.CreateBuilder<CheckResult>();
        foreach (var change in changes)
        {
            var tenant = change.Owner == AgentPools.PlatformOwner ? null : change.Owner;
            foreach (var policy in set.Covering(PolicyRules.AgentVersion, tenant, change.Pool))
            {
                checks.Add(change.To == AgentState.Offline
                    ? new CheckResult(policy.Id, policy.Severity, $"agent/{change.AgentId}", tenant, CheckOutcome.Skip, $"Agent {change.AgentId} is offline.", now)
                    : ComplianceRules.AgentVersion(policy, new AgentFacts(change.AgentId, change.Owner, change.Pool, change.Version, change.Region, []), set.Advisories, now));
            }
        }

        return checks.ToImmutable();
    }
}
