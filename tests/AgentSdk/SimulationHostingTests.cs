using MeshOs.AgentSim;
using MeshOs.AgentSim.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Tests.AgentSdk;

public sealed class SimulationHostingTests
{
    [Fact]
    public void The_sim_section_binds_and_the_mesh_enrollment_token_is_the_fallback()
    {
        var options = Resolve(new()
        {
            ["Sim:Endpoint"] = "http://127.0.0.1:9090",
            ["Sim:Count"] = "12",
            ["Sim:Capabilities"] = "echo, summarize",
            ["Sim:FailureRate"] = "0.25",
            ["Sim:RestartDelay"] = "00:00:02",
            ["MeshOs:Gateway:EnrollmentToken"] = "mesh-token",
        });

        Assert.Equal((new Uri("http://127.0.0.1:9090"), 12, 0.25, TimeSpan.FromSeconds(2), "mesh-token"),
            (options.Endpoint, options.Count, options.FailureRate, options.RestartDelay, options.EnrollmentToken));
        Assert.Equal(["echo", "summarize"], options.CapabilityList);
    }

    [Fact]
    public async Task The_host_placeholder_makes_ids_unique_per_machine()
    {
        await using var fleet = new SimulatedFleet(new SimulationOptions { Count = 2, IdPrefix = "sim-{host}-", EnrollmentToken = "t" });
        var host = Environment.MachineName.ToLowerInvariant();
        Assert.Equal([$"sim-{host}-001", $"sim-{host}-002"], fleet.AgentIds);
    }

    [Fact]
    public void The_sim_token_wins_over_the_fallback()
    {
        var options = Resolve(new() { ["Sim:EnrollmentToken"] = "sim-token", ["MeshOs:Gateway:EnrollmentToken"] = "mesh-token" });
        Assert.Equal("sim-token", options.EnrollmentToken);
    }

    [Fact]
    public void Invalid_settings_are_refused_with_every_reason()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new() { ["Sim:CrashRate"] = "2", ["Sim:Concurrency"] = "0" }));
        Assert.Equal(
            ["FailureRate, CrashRate: probabilities, 0–1.", "MaxConcurrency: 1–10000.", "EnrollmentToken or ApiKey: exactly one is required."],
            error.Failures);
    }

    private static SimulationOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSimulatedFleet(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<SimulationOptions>>().Value;
    }
}
