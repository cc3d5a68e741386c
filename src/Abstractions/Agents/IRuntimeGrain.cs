using System.Collections.Immutable;

namespace MeshOs.Abstractions.Agents;

/// <summary>
/// A runtime that starts agents and can restart them when they are dead (a process supervisor, an orchestrator, the
/// agent simulator). It connects over RuntimeChannel; agents name it in their registration. Key:
/// <c>{owner}/{runtimeId}</c>, so a tenant can only ever address its own runtimes.
/// </summary>
[Alias("meshos.IRuntimeGrain")]
public interface IRuntimeGrain : IGrainWithStringKey
{
    /// <summary>A runtime session connected (replacing any earlier one) and declared the agents it runs.</summary>
    [Alias("Attach")]
    Task AttachAsync(IRuntimeObserver session, ImmutableArray<string> agentIds);

    /// <summary>The session ended.</summary>
    [Alias("Detach")]
    Task DetachAsync(IRuntimeObserver session);

    /// <summary>Asks the runtime to restart an agent; false when no runtime session is connected.</summary>
    [Alias("Restart")]
    Task<bool> RestartAsync(string agentId, string reason);

    /// <summary>The runtime's account of a restart it carried out (or could not).</summary>
    [Alias("Report")]
    Task ReportAsync(string agentId, bool restarted, string detail);

    /// <summary>Whether a session is connected, and the agents it declared.</summary>
    [Alias("Get")]
    Task<RuntimeInfo> GetAsync();
}

/// <summary>The gateway's side of a connected runtime: restart orders are pushed through it.</summary>
[Alias("meshos.IRuntimeObserver")]
public interface IRuntimeObserver : IGrainObserver
{
    [Alias("OnRestart"), OneWay]
    Task OnRestartAsync(string agentId, string reason);
}

[GenerateSerializer, Immutable, Alias("meshos.RuntimeInfo")]
public sealed record RuntimeInfo(bool Connected, ImmutableArray<string> AgentIds, DateTimeOffset? LastRestartAt, int Restarts);
