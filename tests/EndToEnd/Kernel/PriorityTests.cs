using System.Text.Json.Nodes;
using MeshOs.AgentSdk;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>Dispatch honours priority across the queue's shards, and age within a priority.</summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class PriorityTests(EmbeddedKernelFixture fixture)
{
    [Fact]
    public async Task One_agent_runs_a_backlog_by_priority_descending_then_in_submission_order()
    {
        // Several jobs per priority, interleaved, so that both the priority order and the tie-break show.
        int[] priorities = [3, 7, 1, 9, 5, 7, 0, 9, 3, 5, 1, 7, 9, 0, 5, 3];
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("prio");

        // No agent serves the capability yet: everything waits in the queue.
        var ids = new List<string>();
        for (var seq = 0; seq < priorities.Length; seq++)
        {
            ids.Add(JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
                new { type = "rank", capability, payload = new { seq, priority = priorities[seq] }, priority = priorities[seq] })));
        }

        Assert.All(await JobCalls.ListAsync(tenant.Http), j => Assert.Equal("Pending", JobCalls.Status(j)));

        var order = new List<(int Seq, int Priority)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (SdkAgent.Start(fixture.Mesh.Silo.GrpcUrl, JobCalls.Unique("prio-agent"), capability, maxConcurrency: 1, (job, _) =>
        {
            var payload = JsonNode.Parse(job.PayloadJson)!;
            lock (order)
            {
                order.Add((payload["seq"]!.GetValue<int>(), payload["priority"]!.GetValue<int>()));
                if (order.Count == priorities.Length)
                {
                    all.TrySetResult();
                }
            }

            return Task.FromResult(JobOutcome.Success("{}"));
        }))
        {
            await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
            foreach (var id in ids)
            {
                await JobCalls.WaitForStatusAsync(tenant.Http, id, "Succeeded", TimeSpan.FromSeconds(30));
            }
        }

        var expected = priorities.Select((priority, seq) => (Seq: seq, Priority: priority))
            .OrderByDescending(j => j.Priority).ThenBy(j => j.Seq).ToList();
        Assert.Equal(expected.Select(j => j.Priority), order.Select(j => j.Priority));
        Assert.Equal(expected.Select(j => j.Seq), order.Select(j => j.Seq));
    }
}
