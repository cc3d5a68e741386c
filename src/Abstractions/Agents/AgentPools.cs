namespace MeshOs.Abstractions.Agents;

/// <summary>
/// Which agents may serve which pools: the rule agent registration rests on, and so the rule that says which jobs an
/// agent can ever have been leased.
/// </summary>
public static class AgentPools
{
    /// <summary>The shared pool served by platform-owned agents.</summary>
    public const string Platform = "platform";

    /// <summary>The owner of platform agents (those presenting the enrollment token). No tenant may bear this id.</summary>
    public const string PlatformOwner = "platform";

    /// <summary>
    /// Platform agents serve any pool; a tenant's agents only pools named after it (<c>acme</c> or <c>acme/…</c>), so a
    /// tenant can never slip agents into another's pool.
    /// </summary>
    public static bool MayServe(string owner, string pool) =>
        owner == PlatformOwner || pool == owner || pool.StartsWith(owner + "/", StringComparison.Ordinal);
}
