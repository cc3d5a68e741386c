using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// A silo on a private PostgreSQL server (the kernel tests' <see cref="PostgresKernelFixture"/>, so rows in meshos_jobs
/// can be counted) and a <see cref="FuzzWorld"/> on it: real objects for hostile requests to aim at.
/// </summary>
public sealed class HostileInputFixture : IAsyncLifetime
{
    private readonly PostgresKernelFixture _postgres = new();

    public KernelMesh Mesh => _postgres.Mesh;

    public FuzzWorld World { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        World = await FuzzWorld.CreateAsync(Mesh);
    }

    public async Task DisposeAsync()
    {
        if (World is not null)
        {
            await World.DisposeAsync();
        }

        await _postgres.DisposeAsync();
    }
}

/// <summary>The fuzzers and the batch tests: one PostgreSQL-backed silo, tests one after another.</summary>
[CollectionDefinition(Name)]
public sealed class HostileInputCollection : ICollectionFixture<HostileInputFixture>
{
    public const string Name = "security hostile input";
}

/// <summary>
/// The OpenAPI contract: an embedded silo of its own, since the contract test changes the objects it calls (creates
/// tenants and agents, drains and quarantines), which would show in the fuzzers' before-and-after snapshots.
/// </summary>
[CollectionDefinition(Name)]
public sealed class OpenApiContractCollection : ICollectionFixture<EmbeddedKernelFixture>
{
    public const string Name = "security openapi contract";
}

/// <summary>Tenant isolation: one embedded silo of its own (the kernel tests' fixture, another instance).</summary>
[CollectionDefinition(Name)]
public sealed class IsolationCollection : ICollectionFixture<EmbeddedKernelFixture>
{
    public const string Name = "security isolation";
}

/// <summary>
/// The failed-authentication limit acts on the whole process (every test client calls from 127.0.0.1), so its test
/// starts a silo of its own; a collection of its own lets it wait out the one-minute window alongside the others.
/// </summary>
[CollectionDefinition(Name)]
public sealed class AuthFailureCollection
{
    public const string Name = "security auth failures";
}

/// <summary>
/// Overload measures latency, so it runs alone (after the parallel collections), with a PostgreSQL server for the
/// queue-cap silo whose rows are counted.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OverloadCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "security overload";
}

/// <summary>What a process logged at error level (fail/crit) after a point in its output.</summary>
public static class ProcessLog
{
    public static List<string> ErrorsSince(MeshProcess process, int offset)
    {
        var output = process.Output;
        return [.. output[Math.Min(offset, output.Length)..].Split('\n')
            .Where(line => line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal))
            .Select(line => Describe.Clip(line, 400))];
    }
}
