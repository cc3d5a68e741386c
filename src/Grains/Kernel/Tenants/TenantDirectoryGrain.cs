using System.Collections.Immutable;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Kernel.Tenants;

/// <summary>The sorted list of tenant ids. Touched only by operator calls (create and list).</summary>
internal sealed class TenantDirectoryGrain(
    [PersistentState("tenant-directory", MeshStorage.GrainStore)] IPersistentState<TenantDirectoryState> state) : Grain, ITenantDirectoryGrain
{
    public async Task AddAsync(string tenantId)
    {
        var ids = state.State.TenantIds;
        var index = ids.BinarySearch(tenantId, StringComparer.Ordinal);
        if (index < 0)
        {
            ids.Insert(~index, tenantId);
            await state.WriteStateAsync();
        }
    }

    public Task<ImmutableArray<string>> ListAsync(string? afterId, int limit)
    {
        var ids = state.State.TenantIds;
        var start = 0;
        if (afterId is not null)
        {
            var index = ids.BinarySearch(afterId, StringComparer.Ordinal);
            start = index >= 0 ? index + 1 : ~index;
        }

        return Task.FromResult(ids.Skip(start).Take(limit).ToImmutableArray());
    }
}

[GenerateSerializer, Alias("meshos.TenantDirectoryState")]
public sealed class TenantDirectoryState
{
    [Id(0)] public List<string> TenantIds { get; set; } = [];
}
