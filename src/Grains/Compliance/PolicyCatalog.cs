using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;

namespace MeshOs.Grains.Compliance;

/// <summary>The policies a new mesh starts with, and the rules every policy an operator sets must keep.</summary>
public static class PolicyCatalog
{
    /// <summary>
    /// One mesh-wide policy per built-in rule. Residency and classification are enforced (a job must never reach an agent
    /// they forbid: with no allowed regions or data classes set they skip); the others audit until an operator
    /// decides to enforce them.
    /// </summary>
    public static ImmutableArray<CompliancePolicy> Defaults { get; } =
    [
        new("residency", PolicyRules.DataResidency, PolicyMode.Enforce, PolicySeverity.Critical, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty),
        new("classification", PolicyRules.DataClassification, PolicyMode.Enforce, PolicySeverity.High, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty),
        new("agent-version", PolicyRules.AgentVersion, PolicyMode.Audit, PolicySeverity.High, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty),
        new("key-hygiene", PolicyRules.KeyHygiene, PolicyMode.Audit, PolicySeverity.Medium, PolicyScope.Mesh,
            ImmutableDictionary<string, string>.Empty.Add(ComplianceRules.MaxUnusedDays, "90").Add(ComplianceRules.RotationDays, "90")),
        new("production-mfa", PolicyRules.ProductionMfa, PolicyMode.Audit, PolicySeverity.Critical, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty),
    ];

    /// <summary>The settings each rule reads; any other is refused, so that a typo is not silently ignored.</summary>
    private static readonly ImmutableDictionary<string, ImmutableArray<string>> SettingsByRule = new Dictionary<string, ImmutableArray<string>>
    {
        [PolicyRules.DataResidency] = [],
        [PolicyRules.DataClassification] = [],
        [PolicyRules.AgentVersion] = [],
        [PolicyRules.KeyHygiene] = [ComplianceRules.MaxUnusedDays, ComplianceRules.RotationDays],
        [PolicyRules.ProductionMfa] = [],
    }.ToImmutableDictionary();

    /// <summary>Checks a policy an operator sets; InvalidArgument naming the field.</summary>
    public static void Validate(CompliancePolicy policy)
    {
        if (policy.Id is not { Length: >= 1 and <= 64 } id || !id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            throw MeshException.Invalid("id", "1–64 of a-z 0-9 -.");
        }

        if (!SettingsByRule.TryGetValue(policy.Rule ?? string.Empty, out var known))
        {
            throw MeshException.Invalid("rule", $"one of {string.Join(", ", PolicyRules.All)}.");
        }

        if (!Enum.IsDefined(policy.Mode))
        {
            throw MeshException.Invalid("mode", "audit or enforce.");
        }

        if (!Enum.IsDefined(policy.Severity))
        {
            throw MeshException.Invalid("severity", "low, medium, high or critical.");
        }

        if (policy.Scope is null || (policy.Scope.Kind == PolicyScope.MeshKind) != (policy.Scope.Name is null)
            || policy.Scope.Kind is not (PolicyScope.MeshKind or PolicyScope.TenantKind or PolicyScope.PoolKind)
            || policy.Scope.Name is { Length: 0 or > 100 })
        {
            throw MeshException.Invalid("scope", "mesh (no name), or tenant or pool with a name of 1–100 characters.");
        }

        foreach (var (name, value) in policy.Settings)
        {
            if (!known.Contains(name))
            {
                throw MeshException.Invalid("settings", known.IsEmpty
                    ? $"rule {policy.Rule} takes no settings ('{name}' given)."
                    : $"'{name}' is not a setting of rule {policy.Rule} ({string.Join(", ", known)}).");
            }

            if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var days) || days is < 1 or > 3650)
            {
                throw MeshException.Invalid("settings", $"'{name}': a whole number of days, 1–3,650.");
            }
        }
    }
}
