using System.Collections.Concurrent;
using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// One copy per silo of the values thousands of agents repeat: owner, pool, region, version, runtime and capability
/// sets. Every registration arrives as its own message, so without this each agent's grain, its directory entry and
/// its healing view hold private copies of the same few strings (about 0.2 KB per idle agent, measured with
/// dotnet-gcdump at 20,000 agents). Bounded: past its limit of distinct values (a fleet does not have that many; a
/// client inventing new ones does) a value is kept as it came, so the pool cannot grow without limit.
/// </summary>
internal sealed class SharedValues(int maxValues)
{
    /// <summary>The silo's pool.</summary>
    public static SharedValues Silo { get; } = new(10_000);

    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ImmutableArray<string>> _capabilitySets = new(StringComparer.Ordinal);

    /// <summary>The registration with its repeated values shared; the agent id stays its own.</summary>
    public AgentRegistration Share(AgentRegistration registration) => registration with
    {
        Owner = Share(registration.Owner),
        Pool = Share(registration.Pool),
        Version = Share(registration.Version),
        Region = Share(registration.Region),
        Runtime = registration.Runtime is null ? null : Share(registration.Runtime),
        Capabilities = Share(registration.Capabilities),
        Certifications = Share(registration.Certifications),
    };

    public string Share(string value)
    {
        if (value.Length == 0)
        {
            return string.Empty;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return _strings.Count < maxValues ? _strings.GetOrAdd(value, value) : value;
    }

    public ImmutableArray<string> Share(ImmutableArray<string> capabilities)
    {
        if (capabilities.IsDefaultOrEmpty)
        {
            return capabilities;
        }

        // Capability names cannot hold a line break (AgentPolicy), so the joined names identify the set in order.
        var key = string.Join('\n', capabilities);
        if (_capabilitySets.TryGetValue(key, out var shared))
        {
            return shared;
        }

        return _capabilitySets.Count < maxValues ? _capabilitySets.GetOrAdd(key, _ => [.. capabilities.Select(Share)]) : capabilities;
    }
}
