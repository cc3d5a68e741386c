using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MeshOs.Testing;
using MeshOs.Tests.Cli.Support;

namespace MeshOs.Tests.Cli.EndToEnd;

/// <summary>health, status and the connection failures, against a real silo.</summary>
[Collection(MeshCollection.Name)]
public sealed class OperationsCommandTests(MeshFixture mesh)
{
    [Fact]
    public async Task Health_prints_each_check_and_exits_0_when_ready()
    {
        var run = await mesh.Cli.RunAsync("health");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Status: Healthy", lines[0]);
        Assert.Matches(@"^CHECK\s+STATUS\s+MS\s+DESCRIPTION$", lines[1]);
        Assert.Matches(@"^cluster\s+Healthy\s", lines[2]);
        Assert.Matches(@"^storage\s+Healthy\s", lines[3]);
        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task Status_as_json_is_the_servers_answer_and_the_runbooks_jq_paths_work()
    {
        var run = await mesh.Cli.RunAsync("status", "--output", "json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var status = run.Json;
        // The runbook: curl …/status | jq '.agents.total', '.version', '.jobs'.
        // The one demo agent (another test quarantines and releases it: its state is not pinned here, its count is).
        var agents = status["agents"]!.AsObject();
        Assert.Equal(1, agents["total"]!.GetValue<long>());
        Assert.Equal(1, agents.Skip(1).Sum(s => s.Value!.GetValue<long>()));
        using var http = new HttpClient { BaseAddress = mesh.Silo.HttpUrl };
        var direct = await http.GetFromJsonAsync<JsonObject>("/status");
        Assert.Equal(direct!["version"]!.GetValue<string>(), status["version"]!.GetValue<string>());
        Assert.Equal("silo+gateway", status["role"]!.GetValue<string>());
        var jobs = status["jobs"]!.AsObject();
        Assert.Equal("total", jobs.First().Key);
        Assert.Equal(jobs.Skip(1).Sum(s => s.Value!.GetValue<long>()), jobs["total"]!.GetValue<long>());
        Assert.Equal(["total", "Pending", "Leased", "Running", "Succeeded", "Failed", "Cancelled", "TimedOut", "DeadLettered"], jobs.Select(j => j.Key));
    }

    [Fact]
    public async Task Status_as_a_table_shows_the_version_and_counts()
    {
        var run = await mesh.Cli.RunAsync("status");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Out.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains("Service:       MeshOs", lines);
        Assert.Contains("Role:          silo+gateway", lines);
        Assert.Contains(lines, l => l.StartsWith("Version:", StringComparison.Ordinal));
        Assert.Contains("STATE         AGENTS", lines);
        Assert.Contains("total         1", lines);
        Assert.Contains("Registering   0", lines);
        Assert.Contains("STATUS        JOBS", lines);
    }

    [Fact]
    public async Task An_address_where_nothing_listens_is_exit_code_5_naming_it()
    {
        var url = $"http://127.0.0.1:{FreePort.Get()}";

        var run = await mesh.Cli.RunAsync("status", "--url", url);

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.StartsWith($"error: cannot reach {url}/", run.Error, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task A_missing_required_option_is_a_usage_error_exit_code_1()
    {
        var run = await mesh.Cli.RunAsync("jobs", "submit", "--capability", "echo");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("Option '--type' is required.", run.Error, StringComparison.Ordinal);
    }
}
