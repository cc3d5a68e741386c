using System.Globalization;
using Grpc.Net.Client;
using MeshOs.AgentSdk;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MeshOs.AgentSim;

/// <summary>
/// N simulated agents in one process, all through one shared gRPC channel: each sleeps its latency per job, fails
/// and crashes at the configured rates, and can be killed and restarted on demand (chaos tests, demos, benchmarks).
/// </summary>
public sealed class SimulatedFleet : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SimulatedAgent> _agents;
    private readonly List<SimulatedAgent> _ordered;
    private readonly GrpcChannel _channel;
    private readonly GrpcChannel? _ownedChannel;
    private readonly ILogger _logger;
    private readonly ILogger _sdkLogger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly FleetRuntime? _runtime;
    private Task _runtimeLoop = Task.CompletedTask;
    private int _started;
    private int _stopped;
    private int _nextNumber;

    /// <param name="channel">A channel to share with others; null: the fleet makes one for <see cref="SimulationOptions.Endpoint"/>.</param>
    public SimulatedFleet(SimulationOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, GrpcChannel? channel = null)
    {
        SimulationOptionsValidator.ThrowIfInvalid(options);
        Options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<SimulatedFleet>();
        _sdkLogger = loggerFactory.CreateLogger<MeshAgent>();
        _time = timeProvider ?? TimeProvider.System;
        if (channel is null)
        {
            _ownedChannel = MeshGrpcChannel.Create(options.Endpoint);
            channel = _ownedChannel;
        }

        _channel = channel;
        _ordered = new List<SimulatedAgent>(options.Count);
        _agents = new Dictionary<string, SimulatedAgent>(options.Count, StringComparer.Ordinal);
        for (var i = 0; i < options.Count; i++)
        {
            Add(NewAgent());
        }

        if (RuntimeIdOf(options) is { } runtimeId)
        {
            _runtime = new FleetRuntime(runtimeId, new FleetActions(() => AgentIds, id => Get(id).RestartAsync(), ScaleUpAsync, ScaleDownAsync),
                options, channel, _logger);
        }
    }

    /// <summary>Restarts the fleet carried out because the mesh ordered them (as their runtime).</summary>
    public long RuntimeRestarts => _runtime?.Restarts ?? 0;

    /// <summary>Scale orders the fleet carried out as its pool's runtime (<see cref="SimulationOptions.Scalable"/>).</summary>
    public long RuntimeScaleOrders => _runtime?.ScaleOrders ?? 0;

    public SimulationOptions Options { get; }

    /// <summary>The fleet's agents now: the first <see cref="SimulationOptions.Count"/>, changed by the mesh's scale orders.</summary>
    public IReadOnlyList<string> AgentIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _ordered.Select(a => a.AgentId)];
            }
        }
    }

    /// <summary>Starts every agent; they connect in the background.</summary>
    public Task StartAsync()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return Task.CompletedTask;
        }

        if (_runtime is not null)
        {
            _runtimeLoop = Task.Run(() => _runtime.RunAsync(_stopping.Token));
        }

        return Task.WhenAll(Snapshot().Select(a => a.StartAsync()));
    }

    /// <summary>Crashes an agent: its stream is reset without a word and it stays down until <see cref="RestartAsync"/>.</summary>
    public Task KillAsync(string agentId) => Get(agentId).KillAsync(restartAfter: null);

    /// <summary>Restarts an agent as a fresh process (running or crashed): new instance, new connection, registration.</summary>
    public Task RestartAsync(string agentId) => Get(agentId).RestartAsync();

    public Task KillAllAsync() => Task.WhenAll(Snapshot().Select(a => a.KillAsync(restartAfter: null)));

    public Task RestartAllAsync() => Task.WhenAll(Snapshot().Select(a => a.RestartAsync()));

    public SimulatedAgentStats GetAgentStats(string agentId) => Get(agentId).Stats;

    public IReadOnlyList<SimulatedAgentStats> GetAgentStats() => Array.ConvertAll(Snapshot(), a => a.Stats);

    /// <summary>Sums over the fleet's agents now.</summary>
    public FleetStats GetStats()
    {
        int connected = 0, inFlight = 0;
        long completed = 0, failed = 0, refused = 0, crashes = 0, restarts = 0;
        var agents = Snapshot();
        foreach (var agent in agents)
        {
            var s = agent.Stats;
            connected += s.Connected ? 1 : 0;
            inFlight += s.InFlight;
            completed += s.Completed;
            failed += s.Failed;
            refused += s.Refused;
            crashes += s.Crashes;
            restarts += s.Restarts;
        }

        return new FleetStats(agents.Length, connected, inFlight, completed, failed, refused, crashes, restarts);
    }

    /// <summary>Stops every agent gracefully (running jobs are released) and waits for them.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(Snapshot().Select(a => a.StopAsync())).ConfigureAwait(false);
        await _runtimeLoop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _ownedChannel?.Dispose();
    }

    /// <summary>A scale-up order: <paramref name="count"/> new agents with the fleet's options, started at once.</summary>
    private async Task<IReadOnlyList<string>> ScaleUpAsync(int count)
    {
        var added = new List<SimulatedAgent>(count);
        lock (_gate)
        {
            for (var i = 0; i < count && Volatile.Read(ref _stopped) == 0; i++)
            {
                var agent = NewAgent();
                Add(agent);
                added.Add(agent);
            }
        }

        await Task.WhenAll(added.Select(a => a.StartAsync())).ConfigureAwait(false);
        return [.. added.Select(a => a.AgentId)];
    }

    /// <summary>A scale-down order: the named agents of the fleet leave it and stop gracefully (the mesh drained them).</summary>
    private async Task<IReadOnlyList<string>> ScaleDownAsync(IReadOnlyList<string> agentIds)
    {
        var leaving = new List<SimulatedAgent>();
        lock (_gate)
        {
            foreach (var id in agentIds.Distinct(StringComparer.Ordinal))
            {
                if (_agents.Remove(id, out var agent))
                {
                    _ordered.Remove(agent);
                    leaving.Add(agent);
                }
            }
        }

        await Task.WhenAll(leaving.Select(a => a.StopAsync())).ConfigureAwait(false);
        return [.. leaving.Select(a => a.AgentId)];
    }

    private SimulatedAgent NewAgent()
    {
        var index = Interlocked.Increment(ref _nextNumber) - 1;
        var id = AgentIdOf(Options, index + 1);
        var random = Options.Seed is { } seed ? new Random(unchecked((seed * 7919) + index)) : new Random();
        return new SimulatedAgent(id, Options, _channel, _logger, _sdkLogger, _time, random, _stopping.Token);
    }

    private void Add(SimulatedAgent agent)
    {
        lock (_gate)
        {
            _ordered.Add(agent);
            _agents.Add(agent.AgentId, agent);
        }
    }

    private SimulatedAgent[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _ordered];
        }
    }

    internal static string AgentIdOf(SimulationOptions options, int number)
    {
        var prefix = options.IdPrefix.Contains("{host}", StringComparison.Ordinal)
            ? options.IdPrefix.Replace("{host}", HostName(), StringComparison.Ordinal)
            : options.IdPrefix;
        var width = Math.Max(3, options.Count.ToString(CultureInfo.InvariantCulture).Length);
        return prefix + number.ToString(new string('0', width), CultureInfo.InvariantCulture);
    }

    internal static string? RuntimeIdOf(SimulationOptions options) =>
        string.IsNullOrEmpty(options.RuntimeId) ? null : options.RuntimeId.Replace("{host}", HostName(), StringComparison.Ordinal);

    /// <summary>The machine's name in the characters an agent id allows.</summary>
    private static string HostName() =>
        string.Concat(Environment.MachineName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-'));

    internal static MeshAgentOptions AgentOptions(SimulationOptions options, string agentId) => new()
    {
        Endpoint = options.Endpoint,
        AgentId = agentId,
        Pool = options.Pool,
        Capabilities = [.. options.CapabilityList],
        MaxConcurrency = options.Concurrency,
        Version = options.Version,
        Region = options.Region,
        Certifications = [.. options.CertificationList],
        CostPerHour = options.CostPerHour,
        RuntimeId = RuntimeIdOf(options),
        EnrollmentToken = options.EnrollmentToken,
        ApiKey = options.ApiKey,
        ReconnectMinDelay = options.ReconnectMinDelay,
        ReconnectMaxDelay = options.ReconnectMaxDelay,
    };

    private SimulatedAgent Get(string agentId)
    {
        lock (_gate)
        {
            return _agents.TryGetValue(agentId, out var agent) ? agent : throw new KeyNotFoundException($"No simulated agent '{agentId}'.");
        }
    }
}
