using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Abstractions.Agents;

/// <summary>
/// A runtime that starts agents and can restart them when they are dead (a process supervisor, an orchestrator, the
/// agent simulator). It connects over RuntimeChannel; agents name it in their registration. Key:
/// <c>{owner}/{runtimeId}</c>, so a tenant can only ever address its own runtimes.
/// </summary>
[Alias("meshos.IRuntimeGrain")]
public interface IRuntimeGrain : IGrainWithStringKey
{
    /// <summary>
    /// A runtime session connected (replacing any earlier one) and declared the agents it runs and the pools it can
    /// scale (its owner's own pools only; others are ignored). The pools' scalers (<see cref="IPoolScalersGrain"/>) learn it.
    /// </summary>
    [Alias("Attach")]
    Task AttachAsync(IRuntimeObserver session, ImmutableArray<string> agentIds, ImmutableArray<string> scalablePools);

    /// <summary>The session ended.</summary>
    [Alias("Detach")]
    Task DetachAsync(IRuntimeObserver session);

    /// <summary>Asks the runtime to restart an agent; false when no runtime session is connected.</summary>
    [Alias("Restart")]
    Task<bool> RestartAsync(string agentId, string reason);

    /// <summary>Sends a scale order to the runtime; false when no session is connected or it did not declare the pool.</summary>
    [Alias("Scale")]
    Task<bool> ScaleAsync(ScaleOrder order);

    /// <summary>The runtime's account of a scale order, passed on to the cost advisor.</summary>
    [Alias("ReportScale")]
    Task ReportScaleAsync(ScaleReport report);

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

    [Alias("OnScale"), OneWay]
    Task OnScaleAsync(ScaleOrder order);
}

/// <summary>
/// The runtimes connected now that declared they can scale a pool (key: the pool). Volatile: runtimes attach again when
/// they reconnect. The cost advisor sends scale orders only to these.
/// </summary>
[Alias("meshos.IPoolScalersGrain")]
public interface IPoolScalersGrain : IGrainWithStringKey
{
    /// <summary>Adds (or removes, <paramref name="present"/> false) a runtime (its grain key, <c>{owner}/{runtimeId}</c>).</summary>
    [Alias("Set")]
    Task SetAsync(string runtimeKey, bool present);

    /// <summary>The runtimes that can scale the pool, ordinal order.</summary>
    [Alias("List"), Orleans.Concurrency.AlwaysInterleave]
    Task<ImmutableArray<string>> ListAsync();
}

[GenerateSerializer, Immutable, Alias("meshos.RuntimeInfo")]
public sealed record RuntimeInfo(bool Connected, ImmutableArray<string> AgentIds, DateTimeOffset? LastRestartAt, int Restarts,
    ImmutableArray<string> ScalablePools = default, int ScaleOrders = 0);
