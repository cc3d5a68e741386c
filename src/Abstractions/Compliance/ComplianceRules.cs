using System.Collections.Immutable;
using System.Globalization;

namespace MeshOs.Abstractions.Compliance;

/// <summary>The patch windows of the security procedures, by CVSS base score.</summary>
public static class VulnerabilityWindows
{
    /// <summary>
    /// Critical (9.0–10.0): 24 h; high (7.0–8.9): 7 days; medium (4.0–6.9): 30 days; low (below 4.0): null, meaning
    /// "the next release" (no deadline in time).
    /// </summary>
    public static TimeSpan? For(decimal cvss) => cvss switch
    {
        < 0m or > 10m => throw new ArgumentOutOfRangeException(nameof(cvss), cvss, "A CVSS base score is 0.0–10.0."),
        >= 9m => TimeSpan.FromHours(24),
        >= 7m => TimeSpan.FromDays(7),
        >= 4m => TimeSpan.FromDays(30),
        _ => null,
    };

    /// <summary>The band's name, as advisories and findings say it.</summary>
    public static string Band(decimal cvss) => cvss switch
    {
        >= 9m => "critical",
        >= 7m => "high",
        >= 4m => "medium",
        _ => "low",
    };
}

/// <summary>
/// Orders agent versions: dot-separated numbers (a leading <c>v</c> ignored, missing parts are 0), and a
/// <c>-suffix</c> (a pre-release) before the same version without one. A version that is not of that form compares
/// by ordinal text after every well-formed one, so that nothing unparseable is taken for a patched version.
/// </summary>
public sealed class AgentVersionComparer : IComparer<string>
{
    public static AgentVersionComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        var (a, b) = (Parse(x), Parse(y));
        if (a is null || b is null)
        {
            return a is null && b is null ? string.CompareOrdinal(x, y) : a is null ? 1 : -1;
        }

        for (var i = 0; i < Math.Max(a.Value.Numbers.Length, b.Value.Numbers.Length); i++)
        {
            var order = At(a.Value.Numbers, i).CompareTo(At(b.Value.Numbers, i));
            if (order != 0)
            {
                return order;
            }
        }

        return (a.Value.PreRelease, b.Value.PreRelease) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            var (p, q) => string.CompareOrdinal(p, q),
        };
    }

    /// <summary>Whether <paramref name="version"/> is of the form this comparer orders.</summary>
    public static bool IsWellFormed(string? version) => Parse(version) is not null;

    private static long At(ImmutableArray<long> numbers, int i) => i < numbers.Length ? numbers[i] : 0;

    private static (ImmutableArray<long> Numbers, string? PreRelease)? Parse(string? version)
    {
        if (string.IsNullOrWhiteSpace(version))
        {
            return null;
        }

        var text = version.Trim();
        if (text.StartsWith('v') || text.StartsWith('V'))
        {
            text = text[1..];
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var core = dash < 0 ? text : text[..dash];
        var preRelease = dash < 0 ? null : text[(dash + 1)..];
        var parts = core.Split('.');
        var numbers = ImmutableArray.CreateBuilder<long>(parts.Length);
        foreach (var part in parts)
        {
            if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            numbers.Add(number);
        }

        return preRelease is "" ? null : (numbers.MoveToImmutable(), preRelease);
    }
}

/// <summary>What the version rule needs to know of an agent.</summary>
public sealed record AgentFacts(string AgentId, string Owner, string Pool, string Version, string Region, ImmutableArray<string> Certifications);

/// <summary>What the key-hygiene rule needs to know of an operator key.</summary>
/// <param name="UsedScopes">The scopes the key's calls of the review period needed (empty: not used).</param>
public sealed record OperatorKeyFacts(string KeyId, OperatorScope Scope, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt,
    ImmutableHashSet<OperatorScope> UsedScopes);

/// <summary>The pure checks behind the built-in policies: facts and a clock in, a <see cref="CheckResult"/> out.</summary>
public static class ComplianceRules
{
    /// <summary>Settings of <see cref="PolicyRules.KeyHygiene"/>: days without use before a key is a finding. Default 90.</summary>
    public const string MaxUnusedDays = "maxUnusedDays";

    /// <summary>Settings of <see cref="PolicyRules.KeyHygiene"/>: the rotation period in days. Default 90.</summary>
    public const string RotationDays = "rotationDays";

    public static CheckResult Residency(CompliancePolicy policy, string subject, string tenantId, ImmutableArray<string> allowedRegions,
        string agentId, string agentRegion, DateTimeOffset now)
    {
        if (allowedRegions.IsDefaultOrEmpty)
        {
            return Result(policy, subject, tenantId, CheckOutcome.Skip, $"Tenant {tenantId} restricts no region.", now);
        }

        return allowedRegions.Contains(agentRegion, StringComparer.OrdinalIgnoreCase)
            ? Result(policy, subject, tenantId, CheckOutcome.Pass, $"Agent {agentId} is in region '{agentRegion}', allowed for tenant {tenantId}.", now)
            : Result(policy, subject, tenantId, CheckOutcome.Fail,
                $"Agent {agentId} is in region '{agentRegion}'; tenant {tenantId} allows only {string.Join(", ", allowedRegions)}.", now);
    }

    public static CheckResult Classification(CompliancePolicy policy, string subject, string tenantId, ImmutableArray<string> jobClasses,
        AgentFacts agent, DateTimeOffset now)
    {
        if (jobClasses.IsDefaultOrEmpty)
        {
            return Result(policy, subject, tenantId, CheckOutcome.Skip, "The job carries no data class.", now);
        }

        var missing = jobClasses.Where(c => !agent.Certifications.Contains(c, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
        return missing.Count == 0
            ? Result(policy, subject, tenantId, CheckOutcome.Pass, $"Agent {agent.AgentId} is certified for {string.Join(", ", jobClasses)}.", now)
            : Result(policy, subject, tenantId, CheckOutcome.Fail, $"Agent {agent.AgentId} is not certified for {string.Join(", ", missing)}.", now);
    }

    /// <summary>
    /// The classification rule at submit: every data class of the job is one its tenant allows. Skip when the job
    /// carries none or the tenant allows any (no allowed data classes set).
    /// </summary>
    public static CheckResult SubmittedClasses(CompliancePolicy policy, string subject, string tenantId, ImmutableArray<string> jobClasses,
        ImmutableArray<string> allowedClasses, DateTimeOffset now)
    {
        if (jobClasses.IsDefaultOrEmpty)
        {
            return Result(policy, subject, tenantId, CheckOutcome.Skip, "The job carries no data class.", now);
        }

        if (allowedClasses.IsDefaultOrEmpty)
        {
            return Result(policy, subject, tenantId, CheckOutcome.Skip, $"Tenant {tenantId} restricts no data class.", now);
        }

        var outside = jobClasses.Where(c => !allowedClasses.Contains(c, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
        return outside.Count == 0
            ? Result(policy, subject, tenantId, CheckOutcome.Pass, $"Tenant {tenantId} allows data classes {string.Join(", ", jobClasses)}.", now)
            : Result(policy, subject, tenantId, CheckOutcome.Fail,
                $"The job carries data class(es) {string.Join(", ", outside)}; tenant {tenantId} allows only {string.Join(", ", allowedClasses)}.", now);
    }

    /// <summary>
    /// Fail when an advisory whose deadline (published + CVSS window) has passed affects the agent's version; Warn
    /// (with the earliest deadline, or none for a low score: the next release) when advisories affect it within their
    /// windows; Error for a version that cannot be ordered; Pass otherwise.
    /// </summary>
    public static CheckResult AgentVersion(CompliancePolicy policy, AgentFacts agent, IEnumerable<VulnerabilityAdvisory> advisories, DateTimeOffset now)
    {
        var subject = $"agent/{agent.AgentId}";
        var tenant = agent.Owner == Abstractions.Agents.AgentPools.PlatformOwner ? null : agent.Owner;
        if (!AgentVersionComparer.IsWellFormed(agent.Version))
        {
            return Result(policy, subject, tenant, CheckOutcome.Error, $"Agent {agent.AgentId} reports version '{agent.Version}', which cannot be ordered.", now);
        }

        var affecting = advisories.Where(a => Affects(a, agent.Version))
            .Select(a => (Advisory: a, Due: VulnerabilityWindows.For(a.Cvss) is { } window ? a.PublishedAt + window : (DateTimeOffset?)null))
            .OrderBy(a => a.Due ?? DateTimeOffset.MaxValue).ThenBy(a => a.Advisory.Id, StringComparer.Ordinal)
            .ToList();
        if (affecting.Count == 0)
        {
            return Result(policy, subject, tenant, CheckOutcome.Pass, $"Agent {agent.AgentId} runs {agent.Version}, affected by no advisory.", now);
        }

        var overdue = affecting.Where(a => a.Due <= now).ToList();
        if (overdue.Count > 0)
        {
            return Result(policy, subject, tenant, CheckOutcome.Fail,
                $"Agent {agent.AgentId} runs {agent.Version}, past the patch deadline of {Describe(overdue)}.", now);
        }

        return Result(policy, subject, tenant, CheckOutcome.Warn,
            $"Agent {agent.AgentId} runs {agent.Version}, affected by {Describe(affecting)}.", now, affecting[0].Due);
    }

    /// <summary>Whether <paramref name="version"/> is in [IntroducedIn, FixedIn).</summary>
    public static bool Affects(VulnerabilityAdvisory advisory, string version) =>
        (advisory.IntroducedIn is null || AgentVersionComparer.Instance.Compare(version, advisory.IntroducedIn) >= 0)
        && AgentVersionComparer.Instance.Compare(version, advisory.FixedIn) < 0;

    /// <summary>
    /// Fail for a key unused longer than <see cref="MaxUnusedDays"/> (never used: counted from its creation) or older
    /// than <see cref="RotationDays"/>; Warn for a full-access key whose use needed one narrower scope at most;
    /// Pass otherwise.
    /// </summary>
    public static CheckResult KeyHygiene(CompliancePolicy policy, OperatorKeyFacts key, DateTimeOffset now)
    {
        var subject = $"operator-key/{key.KeyId}";
        var maxUnused = TimeSpan.FromDays(Setting(policy, MaxUnusedDays, 90));
        var rotation = TimeSpan.FromDays(Setting(policy, RotationDays, 90));
        var problems = new List<string>();
        var idleSince = key.LastUsedAt ?? key.CreatedAt;
        if (now - idleSince > maxUnused)
        {
            problems.Add(key.LastUsedAt is null
                ? $"never used in the {(now - key.CreatedAt).Days} days since it was issued"
                : $"unused for {(now - idleSince).Days} days (limit {maxUnused.Days})");
        }

        if (now - key.CreatedAt > rotation)
        {
            problems.Add($"issued {(now - key.CreatedAt).Days} days ago, past the {rotation.Days}-day rotation");
        }

        if (problems.Count > 0)
        {
            return Result(policy, subject, null, CheckOutcome.Fail, $"Operator key {key.KeyId} is {string.Join("; ", problems)}.", now);
        }

        var narrower = key.UsedScopes.Where(s => s != OperatorScope.ReadOnly).ToList();
        if (key.Scope == OperatorScope.Full && key.UsedScopes.Count > 0 && !key.UsedScopes.Contains(OperatorScope.Full) && narrower.Count <= 1)
        {
            var enough = narrower.Count == 0 ? OperatorScope.ReadOnly : narrower[0];
            return Result(policy, subject, null, CheckOutcome.Warn,
                $"Operator key {key.KeyId} has full access, but its calls needed only '{OperatorScopes.Name(enough)}': issue a narrower key.", now);
        }

        return Result(policy, subject, null, CheckOutcome.Pass, $"Operator key {key.KeyId} is in use, rotated and scoped to its use.", now);
    }

    private static int Setting(CompliancePolicy policy, string name, int fallback) =>
        policy.Settings.TryGetValue(name, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : fallback;

    private static string Describe(IEnumerable<(VulnerabilityAdvisory Advisory, DateTimeOffset? Due)> advisories) =>
        string.Join("; ", advisories.Select(a =>
            $"{a.Advisory.Id} (CVSS {a.Advisory.Cvss.ToString("0.0", CultureInfo.InvariantCulture)}, {VulnerabilityWindows.Band(a.Advisory.Cvss)}, fixed in {a.Advisory.FixedIn}, "
            + (a.Due is { } due ? $"due {due.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC)" : "due with the next release)")));

    private static CheckResult Result(CompliancePolicy policy, string subject, string? tenantId, CheckOutcome outcome, string message,
        DateTimeOffset now, DateTimeOffset? dueAt = null) =>
        new(policy.Id, policy.Severity, subject, tenantId, outcome, message, now, dueAt);
}
