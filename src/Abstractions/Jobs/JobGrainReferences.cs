using Orleans.Runtime;

namespace MeshOs.Abstractions.Jobs;

/// <summary>
/// Fast references to job grains. <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> resolves the interface and grain types
/// from the CLR type on every call (type-name formatting included); a job is addressed several times on its way
/// through the mesh, so the two types are resolved once and each reference is built from its id directly.
/// </summary>
public static class JobGrainReferences
{
    private static (GrainType Type, GrainInterfaceType Interface)? _types;

    /// <summary>The job grain of <paramref name="jobId"/>; the same reference <c>GetGrain&lt;IJobGrain&gt;</c> gives.</summary>
    public static IJobGrain GetJobGrain(this IGrainFactory grains, Guid jobId)
    {
        var (type, interfaceType) = _types ??= Resolve(grains);
        return (IJobGrain)grains.GetGrain(GrainId.Create(type, GrainIdKeyExtensions.CreateGuidKey(jobId)), interfaceType);
    }

    private static (GrainType, GrainInterfaceType) Resolve(IGrainFactory grains)
    {
        var sample = (GrainReference)grains.GetGrain<IJobGrain>(Guid.Empty);
        return (sample.GrainId.Type, sample.InterfaceType);
    }
}
