using System.ComponentModel.DataAnnotations;

namespace MeshOs.Persistence.Jobs;

/// <summary>The PostgreSQL job store's group commit. Section <c>MeshOs:Storage</c>.</summary>
public sealed class PostgresStoreOptions
{
    public const string Section = "MeshOs:Storage";

    /// <summary>
    /// Concurrent writer connections. Each takes every write waiting when it is free (up to <see cref="MaxBatch"/>)
    /// and commits them in one transaction; a few writers keep the database busy while others send. Default 3.
    /// </summary>
    [Range(1, 64)]
    public int Writers { get; set; } = 3;

    /// <summary>Most writes in one transaction. Default 1,000.</summary>
    [Range(1, 10_000)]
    public int MaxBatch { get; set; } = 1_000;
}
