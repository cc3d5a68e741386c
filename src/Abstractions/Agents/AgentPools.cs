namespace MeshOs.Abstractions.Agents;

/// <summary>The platform's names. Which agents may serve which pools is <see cref="Tenants.PoolAccess"/>'s rule.</summary>
public static class AgentPools
{
    /// <summary>The shared pool served by platform-owned agents.</summary>
    public const string Platform = "platform";

    /// <summary>The owner of platform agents (those presenting the enrollment token). No tenant may bear this id.</summary>
    public const string PlatformOwner = "platform";
}
