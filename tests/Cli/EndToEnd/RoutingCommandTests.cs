using MeshOs.Tests.Cli.Support;

namespace MeshOs.Tests.Cli.EndToEnd;

/// <summary>routing job|pool: why a job went to its agent (tenant key) and what a pool learned (operator key).</summary>
[Collection(MeshCollection.Name)]
public sealed class RoutingCommandTests(MeshFixture mesh)
{
    [Fact]
    public async Task A_run_job_says_why_it_went_to_the_demo_agent_and_the_pool_shows_what_was_learned()
    {
        var submitted = await mesh.TenantA.RunAsync("jobs", "submit", "--type", "cli.route", "--capability", "echo", "--payload", "{}", "-o", "json");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        var id = submitted.Json["id"]!.GetValue<string>();
        var watched = await mesh.TenantA.RunAsync("jobs", "watch", id);
        Assert.True(watched.ExitCode == 0, watched.ToString());

        var why = await mesh.TenantA.RunAsync("routing", "job", id);
        Assert.True(why.ExitCode == 0, why.ToString());
        var lines = why.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^Policy adaptive, reason (best-score|exploration|only-candidate), \d+ candidates compared \(chosen first\)$", lines[0]);
        Assert.Matches(@"^AGENT\s+SCORE\s+SUCCESS RATE\s+LATENCY MS\s+COST/JOB\s+ATTEMPTS\s+IN FLIGHT\s+LIMIT$", lines[1]);
        Assert.StartsWith("demo-agent-001 ", lines[2], StringComparison.Ordinal);

        // The learner reads the event log about every second: the demo agent's echo attempts show up.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var pool = await mesh.Operator.RunAsync("routing", "pool", "platform", "--agent", "demo-agent-001", "-o", "json");
            Assert.True(pool.ExitCode is 0 or 2, pool.ToString());
            var echo = pool.ExitCode == 0
                ? pool.Json["agents"]!.AsArray().FirstOrDefault(a => a!["stats"]!["capability"]!.GetValue<string>() == "echo")
                : null;
            if (echo is not null)
            {
                Assert.Equal("adaptive", pool.Json["policy"]!.GetValue<string>());
                Assert.True(echo["stats"]!["successes"]!.GetValue<double>() > 0, echo.ToJsonString());
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the pool's statistics never showed the demo agent's echo attempts: " + pool);
            await Task.Delay(250);
        }

        var refused = await mesh.TenantA.RunAsync("routing", "pool", "platform");
        Assert.Equal(3, refused.ExitCode); // operators only
    }
}
