namespace MeshOs.Grains.Storage;

/// <summary>Names shared by the grains and the host that configures their storage.</summary>
public static class MeshStorage
{
    /// <summary>The Orleans grain-storage provider every MeshOs grain state uses.</summary>
    public const string GrainStore = "meshos";
}

/// <summary>Pings whichever durable store the silo runs on; used by readiness checks.</summary>
public interface IStorageProbe
{
    /// <summary>A short name of the store: <c>in-memory</c> or <c>postgresql</c>.</summary>
    string Mode { get; }

    /// <summary>Throws when the store cannot be reached within <paramref name="cancellationToken"/>.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>Where the store is, for operators (never a password).</summary>
    string Describe();
}

/// <summary>The embedded mode's store lives in the process: it is reachable while the process is.</summary>
public sealed class InMemoryStorageProbe : IStorageProbe
{
    public string Mode => "in-memory";

    public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string Describe() => "in-process memory (embedded mode: state is lost when the process exits)";
}
