using System.Diagnostics;
using System.Net;
using MeshOs.Testing;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd;

/// <summary>The README's run command: an embedded silo with its demo fleet, as a new user would start it.</summary>
public sealed class EmbeddedDemoTests(ITestOutputHelper output)
{
    /// <summary>
    /// What a new user waits on an idle machine before /health and /dashboard answer. On a busy machine (the rest of
    /// the test suite, other processes) a start takes as long as the machine lets it, so what is held to this is the
    /// silo's own work: the CPU time it has used by then, which the rest of the machine does not change.
    /// </summary>
    private static readonly TimeSpan StartBudget = TimeSpan.FromSeconds(15);

    /// <summary>Generous: reached only when the silo never serves.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Serves_health_and_dashboard_within_15_seconds_of_its_own_work_and_the_demo_fleet_completes_jobs()
    {
        var started = Stopwatch.StartNew();
        await using var silo = MeshProcess.StartSilo(settings: new Dictionary<string, string>
        {
            ["MeshOs:Demo:Enabled"] = "true",
            ["MeshOs:Demo:JobsPerSecond"] = "5",
            ["MeshOs:Demo:LatencyMs"] = "50",
        });
        using var api = new MeshApi(silo);

        var health = await Eventually.WaitAsync(
            async () => (await api.Anonymous.GetAsync("/health")).StatusCode,
            status => status == HttpStatusCode.OK, Patience, TimeSpan.FromMilliseconds(100));
        var dashboard = (await api.Anonymous.GetAsync("/dashboard/")).StatusCode;
        var (ready, work) = (started.Elapsed, silo.CpuTime);
        output.WriteLine($"/health and /dashboard answered {ready.TotalSeconds:0.0} s after the start, the silo having used {work.TotalSeconds:0.0} s of CPU");
        Assert.Equal(HttpStatusCode.OK, health);
        Assert.Equal(HttpStatusCode.OK, dashboard);
        Assert.True(work < StartBudget, $"/health and /dashboard answered only after {work.TotalSeconds:0.0} s of the silo's CPU time ({ready.TotalSeconds:0.0} s after the start)");

        var status = await Eventually.WaitAsync(
            async () => await MeshApi.JsonAsync(await api.Anonymous.GetAsync("/status")),
            s => s["agents"]!["Healthy"]!.GetValue<int>() == 3 && s["jobs"]!["Succeeded"]!.GetValue<long>() >= 10,
            Patience, TimeSpan.FromMilliseconds(250));
        Assert.Equal(3, status["agents"]!["Healthy"]!.GetValue<int>());
        Assert.True(status["jobs"]!["Succeeded"]!.GetValue<long>() >= 10, status.ToJsonString());

        // The demo tenant's key is printed once, and it works.
        var key = System.Text.RegularExpressions.Regex.Match(silo.Output, @"mk\.demo\.[0-9a-f]{12}\.[A-Za-z0-9_-]+").Value;
        Assert.NotEmpty(key);
        var jobs = await MeshApi.JsonAsync(await api.Client(key).GetAsync("/v1/jobs?status=Succeeded&limit=5"));
        Assert.Equal(5, jobs["jobs"]!.AsArray().Count);
        Assert.All(jobs["jobs"]!.AsArray(), j => Assert.Equal("demo.echo", j!["type"]!.GetValue<string>()));
    }
}
