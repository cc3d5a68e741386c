using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MeshOs.Testing;

namespace MeshOs.Tests.Cli.Support;

/// <summary>
/// One embedded-mode MeshOs process on 127.0.0.1 for the collection, with one demo agent (platform pool, capability
/// <c>echo</c>, 20 ms a job) and no demo jobs, and two tenants made with meshctl itself (<c>tenants create</c>,
/// <c>tenants keys issue</c>), each with a key.
/// </summary>
public sealed class MeshFixture : IAsyncLifetime
{
    /// <summary>How long the demo agent may take to register on a busy machine.</summary>
    private static readonly TimeSpan AgentPatience = TimeSpan.FromSeconds(60);

    public MeshProcess Silo { get; private set; } = null!;

    /// <summary>meshctl pointed at the silo (MESHCTL_URL), with no key.</summary>
    public Meshctl Cli { get; private set; } = null!;

    /// <summary>meshctl with the operator key (MESHCTL_KEY).</summary>
    public Meshctl Operator { get; private set; } = null!;

    public Meshctl TenantA { get; private set; } = null!;

    public Meshctl TenantB { get; private set; } = null!;

    public string TenantAId { get; } = "cli-a-" + Guid.NewGuid().ToString("N")[..8];

    public string TenantBId { get; } = "cli-b-" + Guid.NewGuid().ToString("N")[..8];

    public string Url => Silo.HttpUrl.ToString();

    public async Task InitializeAsync()
    {
        Silo = MeshProcess.StartSilo(settings: new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
            ["MeshOs:Demo:Enabled"] = "true",
            ["MeshOs:Demo:Agents"] = "1",
            ["MeshOs:Demo:JobsPerSecond"] = "0",
            ["MeshOs:Demo:LatencyMs"] = "20",
        });
        await Silo.WaitReadyAsync();
        await DemoAgentHealthyAsync();

        Cli = new Meshctl(new Dictionary<string, string> { ["MESHCTL_URL"] = Url });
        Operator = Cli.With(new Dictionary<string, string> { ["MESHCTL_KEY"] = MeshProcess.OperatorKey });
        TenantA = Cli.With(new Dictionary<string, string> { ["MESHCTL_KEY"] = await CreateTenantAsync(TenantAId) });
        TenantB = Cli.With(new Dictionary<string, string> { ["MESHCTL_KEY"] = await CreateTenantAsync(TenantBId) });
    }

    public async Task DisposeAsync()
    {
        foreach (var cli in new[] { Cli, Operator, TenantA, TenantB })
        {
            cli?.Dispose();
        }

        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }

    private async Task<string> CreateTenantAsync(string tenantId)
    {
        var created = await Operator.RunAsync("tenants", "create", tenantId, "--name", "CLI test " + tenantId, "--pool", "platform", "-o", "json");
        Assert.True(created.ExitCode == 0, created.ToString());
        var issued = await Operator.RunAsync("tenants", "keys", "issue", tenantId, "--name", "cli-tests", "-o", "json");
        Assert.True(issued.ExitCode == 0, issued.ToString());
        return issued.Json["key"]!.GetValue<string>();
    }

    /// <summary>Waits (polling /status, no fixed sleep) until the demo agent is Healthy, so jobs submitted to echo run.</summary>
    private async Task DemoAgentHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = Silo.HttpUrl, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + AgentPatience;
        JsonNode? status = null;
        while (DateTime.UtcNow < deadline)
        {
            status = await http.GetFromJsonAsync<JsonNode>("/status");
            if (status?["agents"]?["Healthy"]?.GetValue<long>() == 1)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The demo agent was not Healthy within {AgentPatience}: {status?.ToJsonString()}\n{Silo.Tail()}");
    }
}

[CollectionDefinition(Name)]
public sealed class MeshCollection : ICollectionFixture<MeshFixture>
{
    public const string Name = "meshctl against an embedded silo";
}
