using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd;

/// <summary>One embedded-mode silo process (in-memory, gateway co-hosted) shared by a test collection.</summary>
public sealed class EmbeddedSiloFixture : IAsyncLifetime
{
    public MeshProcess Silo { get; private set; } = null!;

    public MeshApi Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Silo = MeshProcess.StartSilo(settings: new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
            ["MeshOs:Jobs:LeaseDuration"] = "00:00:04",
        });
        await Silo.WaitReadyAsync();
        Api = new MeshApi(Silo);
    }

    /// <summary>Also when <see cref="InitializeAsync"/> failed: a silo that never got ready is still a process to stop.</summary>
    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedSiloCollection : ICollectionFixture<EmbeddedSiloFixture>
{
    public const string Name = "embedded silo";
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
