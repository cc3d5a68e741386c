namespace MeshOs.Abstractions.Compliance;

/// <summary>What an operator key may do (least privilege). Every scope may read; <see cref="Full"/> may do everything.</summary>
public enum OperatorScope
{
    /// <summary>Reads only: status, jobs, agents, tenants, incidents, audit, compliance.</summary>
    ReadOnly,

    /// <summary>Reads, and works incidents and agents: acknowledge, assign, resolve; drain, quarantine, restart.</summary>
    IncidentResponder,

    /// <summary>Reads, and creates, deploys, promotes and rolls back releases.</summary>
    ReleaseManager,

    /// <summary>Reads, and manages tenants: create, update, disable, keys, grants.</summary>
    TenantAdmin,

    /// <summary>Everything, including policies, advisories, waivers and operator keys.</summary>
    Full,
}

/// <summary>Names and rules of <see cref="OperatorScope"/>.</summary>
public static class OperatorScopes
{
    public static string Name(OperatorScope scope) => scope switch
    {
        OperatorScope.ReadOnly => "read-only",
        OperatorScope.IncidentResponder => "incident-responder",
        OperatorScope.ReleaseManager => "release-manager",
        OperatorScope.TenantAdmin => "tenant-admin",
        OperatorScope.Full => "full",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "Not a scope."),
    };

    public static bool TryParse(string? name, out OperatorScope scope)
    {
        foreach (var candidate in Enum.GetValues<OperatorScope>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.Ordinal))
            {
                scope = candidate;
                return true;
            }
        }

        scope = default;
        return false;
    }

    /// <summary>Whether a key of scope <paramref name="held"/> may make a call that needs <paramref name="needed"/>.</summary>
    public static bool Allows(OperatorScope held, OperatorScope needed) =>
        held == OperatorScope.Full || needed == OperatorScope.ReadOnly || held == needed;
}
