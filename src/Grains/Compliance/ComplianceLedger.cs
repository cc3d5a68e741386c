using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;

namespace MeshOs.Grains.Compliance;

/// <summary>The auditor's durable state: policies, advisories, findings with their history, score history.</summary>
[GenerateSerializer]
public sealed class ComplianceState
{
    /// <summary>Whether the default policies were set (once: a default an operator deleted stays deleted).</summary>
    [Id(0)] public bool Seeded { get; set; }

    [Id(1)] public long Version { get; set; }

    [Id(2)] public Dictionary<string, CompliancePolicy> Policies { get; set; } = [];

    [Id(3)] public Dictionary<string, VulnerabilityAdvisory> Advisories { get; set; } = [];

    /// <summary>By <see cref="ComplianceLedger.Key"/> (policy, subject).</summary>
    [Id(4)] public Dictionary<string, ComplianceFinding> Findings { get; set; } = [];

    /// <summary>By scope: <see cref="ComplianceLedger.MeshScope"/> or a tenant id.</summary>
    [Id(5)] public Dictionary<string, List<ScorePoint>> History { get; set; } = [];

    [Id(6)] public DateTimeOffset? LastScanAt { get; set; }
}

/// <summary>
/// The auditor's book, pure: the latest check of every (policy, subject) (what the score counts), the findings that
/// checks open and resolve, waivers, the score now and over time, and pruning. The grain feeds it checks and a clock
/// and persists <see cref="ComplianceState"/>; everything here is tested without a cluster.
/// </summary>
public sealed class ComplianceLedger(ComplianceState state)
{
    /// <summary>The history key of the whole mesh.</summary>
    public const string MeshScope = "";

    private readonly Dictionary<string, CheckResult> _latest = new(StringComparer.Ordinal);

    public ComplianceState State => state;

    public static string Key(string policyId, string subject) => policyId + "\u001f" + subject;

    /// <summary>The latest checks the score counts.</summary>
    public IEnumerable<CheckResult> Latest => _latest.Values;

    /// <summary>Takes a check: it becomes its subject's latest, and opens, updates or resolves the subject's finding. Checks of unknown policies are ignored.</summary>
    public bool Apply(CheckResult check)
    {
        if (!state.Policies.ContainsKey(check.PolicyId))
        {
            return false;
        }

        var key = Key(check.PolicyId, check.Subject);
        if (_latest.TryGetValue(key, out var previous) && previous.CheckedAt > check.CheckedAt)
        {
            return false; // a late report of an older check
        }

        _latest[key] = check;
        var current = state.Findings.GetValueOrDefault(key);
        var next = FindingLifecycle.Apply(current, check);
        if (next is null || ReferenceEquals(next, current))
        {
            return false;
        }

        state.Findings[key] = next;
        return true;
    }

    /// <summary>
    /// After a full pass of <paramref name="policyIds"/> over every subject: the subjects not <paramref name="seen"/>
    /// are gone (an agent offline, a key revoked). Their latest checks leave the score and their findings resolve.
    /// </summary>
    public void Forget(IReadOnlySet<string> policyIds, IReadOnlySet<string> seen, string reason, DateTimeOffset now)
    {
        foreach (var (key, check) in _latest.ToList())
        {
            if (policyIds.Contains(check.PolicyId) && !seen.Contains(check.Subject))
            {
                _latest.Remove(key);
            }
        }

        foreach (var (key, finding) in state.Findings.ToList())
        {
            if (policyIds.Contains(finding.PolicyId) && !seen.Contains(finding.Subject))
            {
                ResolveGone(key, finding, reason, now);
            }
        }
    }

    /// <summary>Reported checks not repeated for <paramref name="lifetime"/> leave the score, and their findings resolve ("no longer observed").</summary>
    public void ExpireReported(IReadOnlySet<string> reportedPolicyIds, TimeSpan lifetime, DateTimeOffset now)
    {
        foreach (var (key, check) in _latest.ToList())
        {
            if (reportedPolicyIds.Contains(check.PolicyId) && now - check.CheckedAt > lifetime)
            {
                _latest.Remove(key);
                if (state.Findings.TryGetValue(key, out var finding))
                {
                    ResolveGone(key, finding, $"not observed for {lifetime.TotalHours:0} h", now);
                }
            }
        }
    }

    /// <summary>A removed policy: its checks leave the score and its findings resolve.</summary>
    public void RemovePolicy(string policyId, DateTimeOffset now)
    {
        Forget(new HashSet<string>(StringComparer.Ordinal) { policyId }, new HashSet<string>(StringComparer.Ordinal), "the policy was removed", now);
    }

    /// <summary>An operator accepts an open finding until <paramref name="until"/>.</summary>
    public ComplianceFinding Waive(string policyId, string subject, string reason, DateTimeOffset until, string by, DateTimeOffset now)
    {
        FindingLifecycle.ValidateWaiver(reason, until, now);
        var key = Key(policyId ?? string.Empty, subject ?? string.Empty);
        var current = state.Findings.GetValueOrDefault(key) ?? throw MeshException.NotFound($"The finding of policy '{policyId}' on '{subject}'");
        var waived = FindingLifecycle.Waive(current, reason, until, by, now);
        state.Findings[key] = waived;
        return waived;
    }

    /// <summary>The score of a tenant (null: the mesh) at <paramref name="now"/>: waivers that expired no longer count.</summary>
    public ComplianceScore Score(string? tenantId, DateTimeOffset now) =>
        ComplianceScoring.Score(_latest.Values.Where(c => tenantId is null || c.TenantId == tenantId), c =>
            state.Findings.TryGetValue(Key(c.PolicyId, c.Subject), out var finding)
            && FindingLifecycle.ExpireWaiver(finding, now).State == FindingState.Waived);

    /// <summary>Open findings of a tenant (null: the mesh) by severity, every severity present.</summary>
    public ImmutableDictionary<PolicySeverity, int> OpenBySeverity(string? tenantId, DateTimeOffset now)
    {
        var counts = Enum.GetValues<PolicySeverity>().ToDictionary(s => s, _ => 0);
        foreach (var finding in state.Findings.Values)
        {
            if ((tenantId is null || finding.TenantId == tenantId) && FindingLifecycle.ExpireWaiver(finding, now).State == FindingState.Open)
            {
                counts[finding.Severity]++;
            }
        }

        return counts.ToImmutableDictionary();
    }

    public ComplianceReport Report(string? tenantId, DateTimeOffset now) => new(
        tenantId, now, Score(tenantId, now), OpenBySeverity(tenantId, now),
        [.. state.History.GetValueOrDefault(tenantId ?? MeshScope) ?? []], state.LastScanAt);

    /// <summary>
    /// Findings matching the query in (policy, subject) order after the cursor; waivers past their time read as open.
    /// Invalid for a limit outside 1–<see cref="FindingQuery.MaxLimit"/>.
    /// </summary>
    public FindingPage Query(FindingQuery query, DateTimeOffset now)
    {
        if (query.Limit is < 1 or > FindingQuery.MaxLimit)
        {
            throw MeshException.Invalid("limit", $"1–{FindingQuery.MaxLimit}.");
        }

        var after = query.After is null ? null : Cursor(query.After);
        var page = state.Findings
            .Where(f => after is null || string.CompareOrdinal(f.Key, after) > 0)
            .Select(f => (f.Key, Finding: FindingLifecycle.ExpireWaiver(f.Value, now)))
            .Where(f => (query.TenantId is null || f.Finding.TenantId == query.TenantId)
                && (query.PolicyId is null || f.Finding.PolicyId == query.PolicyId)
                && (query.State is null || f.Finding.State == query.State)
                && (query.Subject is null || f.Finding.Subject == query.Subject))
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .Take(query.Limit + 1)
            .ToList();
        var more = page.Count > query.Limit;
        if (more)
        {
            page.RemoveAt(page.Count - 1);
        }

        return new FindingPage([.. page.Select(f => f.Finding)], more ? System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(page[^1].Key)) : null);
    }

    private static string Cursor(string cursor)
    {
        try
        {
            return System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            throw MeshException.Invalid("cursor", "the next cursor of a previous page.");
        }
    }

    /// <summary>
    /// Adds a point of score history for the mesh and every tenant with checks, at most one per
    /// <paramref name="interval"/> per scope, and drops points older than <paramref name="retention"/>.
    /// </summary>
    public void RecordHistory(DateTimeOffset now, TimeSpan interval, TimeSpan retention)
    {
        var scopes = _latest.Values.Select(c => c.TenantId).OfType<string>().Distinct(StringComparer.Ordinal).Prepend(null);
        foreach (var tenant in scopes)
        {
            var key = tenant ?? MeshScope;
            if (!state.History.TryGetValue(key, out var points))
            {
                state.History[key] = points = [];
            }

            if (points.Count == 0 || now - points[^1].At >= interval)
            {
                points.Add(new ScorePoint(now, Score(tenant, now).Percent));
            }
        }

        foreach (var (key, points) in state.History.ToList())
        {
            points.RemoveAll(p => now - p.At > retention);
            if (points.Count == 0)
            {
                state.History.Remove(key);
            }
        }
    }

    /// <summary>Drops findings resolved longer ago than <paramref name="retention"/>, then the oldest resolved past <paramref name="max"/>.</summary>
    public void Prune(DateTimeOffset now, TimeSpan retention, int max)
    {
        var resolved = state.Findings.Where(f => f.Value.State == FindingState.Resolved)
            .Select(f => (f.Key, ResolvedAt: f.Value.History[^1].At))
            .OrderBy(f => f.ResolvedAt)
            .ToList();
        var excess = Math.Max(0, state.Findings.Count - max);
        foreach (var (key, resolvedAt) in resolved)
        {
            if (now - resolvedAt > retention || excess > 0)
            {
                state.Findings.Remove(key);
                excess--;
            }
        }
    }

    private void ResolveGone(string key, ComplianceFinding finding, string reason, DateTimeOffset now)
    {
        var gone = new CheckResult(finding.PolicyId, finding.Severity, finding.Subject, finding.TenantId, CheckOutcome.Skip, reason, now);
        if (FindingLifecycle.Apply(finding, gone) is { } resolved)
        {
            state.Findings[key] = resolved;
        }
    }
}
