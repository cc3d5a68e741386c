using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json.Nodes;
using MeshOs.AgentSdk;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// Adaptive routing on a real silo (README "Adaptive routing"): four equal agents, one of which fails most of its jobs
/// for a while. The flaky one gets measurably less work while it fails, and its share comes back once it heals (a short
/// half-life makes the failures fade in seconds). Every job says why it went to its agent, and operators read what was
/// learned per agent.
/// </summary>
public sealed class AdaptiveRoutingTests : IAsyncLifetime
{
    private const int Agents = 4;
    private const int FlakyIndex = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private KernelMesh _mesh = null!;

    public async Task InitializeAsync() => _mesh = await KernelMesh.StartAsync(settings: new Dictionary<string, string>
    {
        ["MeshOs:Routing:Learning:HalfLife"] = "00:00:03",
        ["MeshOs:Routing:Learning:EventInterval"] = "00:00:00.250",
        ["MeshOs:Routing:RefreshInterval"] = "00:00:00.250",
        ["MeshOs:Routing:Seed"] = "15",
    });

    public async Task DisposeAsync() => await _mesh.DisposeAsync();

    [Fact]
    public async Task A_flaky_agent_gets_less_work_while_it_fails_and_its_share_back_once_it_heals()
    {
        var tenant = await _mesh.CreateTenantAsync(quotas: new { submitsPerSecond = 1_000, submitBurst = 1_000 });
        var capability = JobCalls.Unique("route");
        var attempts = new ConcurrentQueue<(int Agent, bool Flaky)>();
        var flaky = true;
        var random = new Random(15);
        var ids = Enumerable.Range(0, Agents).Select(i => JobCalls.Unique(i == FlakyIndex ? "flaky" : "steady")).ToArray();
        var agents = new List<SdkAgent>();
        for (var i = 0; i < Agents; i++)
        {
            var index = i;
            agents.Add(SdkAgent.Start(_mesh.Silo.GrpcUrl, ids[i], capability, 2, async (job, ct) =>
            {
                var failing = index == FlakyIndex && Volatile.Read(ref flaky);
                attempts.Enqueue((index, failing));
                await Task.Delay(20, ct);
                bool fail;
                lock (random)
                {
                    fail = failing && random.NextDouble() < 0.8;
                }

                return fail ? JobOutcome.Failure("flaky", retryable: true) : JobOutcome.Success("{}");
            }));
        }

        using var stop = new CancellationTokenSource();
        var submitting = SubmitUntilStoppedAsync(tenant, capability, stop.Token);
        try
        {
            // While it fails: after 80 attempts to learn from, its share of the next 300 is well under a fair quarter.
            await WaitForAttemptsAsync(attempts, 80);
            var failingFrom = attempts.Count;
            await WaitForAttemptsAsync(attempts, failingFrom + 300);
            var whileFailing = attempts.Skip(failingFrom).Take(300).ToList();
            var failingShare = whileFailing.Count(a => a.Agent == FlakyIndex) / 300.0;
            Assert.True(failingShare < 0.12, $"the flaky agent took {failingShare:P1} of the attempts while failing (a fair share is 25 %)");

            // Operators see what was learned: the flaky agent's success rate is the pool's lowest.
            var view = await _mesh.Api.Operator.GetFromJsonAsync<JsonObject>($"/v1/routing/pools/platform?agentId={ids[FlakyIndex]}");
            var learned = view!["agents"]!.AsArray().Single(a => a!["stats"]!["capability"]!.GetValue<string>() == capability)!;
            Assert.True(learned["stats"]!["failures"]!.GetValue<double>() > 0);
            Assert.True(learned["successRate"]!.GetValue<double>() < 0.8, learned.ToJsonString());
            Assert.Equal("adaptive", view["policy"]!.GetValue<string>());
            Assert.True(learned["concurrencyLimit"]!.GetValue<int>() is >= 1 and <= 2);

            // Healed: its share comes back within the patience (the failures fade with the 3 s half-life).
            Volatile.Write(ref flaky, false);
            var healedFrom = attempts.Count;
            var deadline = DateTime.UtcNow + Patience;
            double recent;
            while (true)
            {
                await WaitForAttemptsAsync(attempts, attempts.Count + 100);
                var last = attempts.Skip(healedFrom).TakeLast(200).ToList();
                recent = last.Count(a => a.Agent == FlakyIndex) / (double)last.Count;
                if ((last.Count == 200 && recent >= 0.18) || DateTime.UtcNow > deadline)
                {
                    break;
                }
            }

            Assert.True(recent >= 0.18, $"the healed agent took only {recent:P1} of the last 200 attempts");
        }
        finally
        {
            await stop.CancelAsync();
            await submitting;
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }

        // Every job says why it went to its agent: the adaptive policy, the chosen agent first among the candidates.
        var jobs = await JobCalls.ListAsync(tenant.Http, "limit=20&status=Succeeded");
        Assert.NotEmpty(jobs);
        foreach (var job in jobs)
        {
            var routing = job["routing"]!;
            Assert.Equal("adaptive", routing["policy"]!.GetValue<string>());
            Assert.Contains(routing["reason"]!.GetValue<string>(), new[] { "best-score", "exploration", "only-candidate" });
            var candidates = routing["candidates"]!.AsArray();
            Assert.InRange(candidates.Count, 1, 4);
            Assert.Equal(job["agentId"]!.GetValue<string>(), candidates[0]!["agentId"]!.GetValue<string>());
            Assert.Equal(candidates.Count, Math.Min(4, routing["candidatesCompared"]!.GetValue<int>()));
        }
    }

    private static async Task WaitForAttemptsAsync(ConcurrentQueue<(int, bool)> attempts, int count)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (attempts.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {attempts.Count} of {count} attempts within {Patience.TotalSeconds:0} s");
            await Task.Delay(50);
        }
    }

    /// <summary>About 60 jobs a second, in batches, until stopped: enough to keep four agents of two slots busy part of the time.</summary>
    private static async Task SubmitUntilStoppedAsync(KernelTenant tenant, string capability, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var batch = new SubmitJobBatchRequest();
            for (var i = 0; i < 6; i++)
            {
                batch.Jobs.Add(new SubmitJobRequest { Type = "route", Capability = capability, PayloadJson = "{}" });
            }

            await tenant.Jobs.SubmitBatchAsync(batch, tenant.Headers);
            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
