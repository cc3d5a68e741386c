using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// The runtimes attached now that can scale one pool (<see cref="IPoolScalersGrain"/>). Nothing durable: runtime grains
/// hold the sessions and announce themselves again when their runtime reconnects.
/// </summary>
internal sealed class PoolScalersGrain : Grain, IPoolScalersGrain
{
    private ImmutableSortedSet<string> _runtimes = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    public Task SetAsync(string runtimeKey, bool present)
    {
        _runtimes = present ? _runtimes.Add(runtimeKey) : _runtimes.Remove(runtimeKey);
        if (!_runtimes.IsEmpty)
        {
            // Live as long as the runtime sessions it lists (they keep their own grains active the same way).
            DelayDeactivation(TimeSpan.FromDays(1));
        }

        return Task.CompletedTask;
    }

    public Task<ImmutableArray<string>> ListAsync() => Task.FromResult(_runtimes.ToImmutableArray());
}
