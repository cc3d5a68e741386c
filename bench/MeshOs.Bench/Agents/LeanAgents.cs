using MeshOs.Bench.Scenarios;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Agents;

/// <summary>Connecting many lean agents at once.</summary>
public static class LeanAgents
{
    /// <summary>
    /// Registers <paramref name="count"/> agents named <c>{idPrefix}-{first + i:000000}</c>, <paramref name="concurrency"/>
    /// at a time; <paramref name="registered"/> runs for each as soon as the mesh answered its registration (a real agent
    /// starts heartbeating there). Returns those that registered and how many did not.
    /// </summary>
    public static async Task<(List<LeanAgent> Agents, int Failed)> ConnectManyAsync(AgentChannel.AgentChannelClient client, string token, string idPrefix,
        int first, int count, int concurrency, LeanAgentSinks sinks, Action<LeanAgent> registered, string capability = "heartbeat-only")
    {
        var agents = new LeanAgent?[count];
        var failed = 0;
        using var gate = new SemaphoreSlim(concurrency);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var agent = new LeanAgent(client, token, $"{idPrefix}-{first + i:000000}", capability, 1, AssignmentHandling.Complete, sinks);
                try
                {
                    await agent.ConnectAsync(TimeSpan.FromSeconds(60));
                    agents[i] = agent;
                    registered(agent);
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
                {
                    if (Interlocked.Increment(ref failed) <= 3)
                    {
                        Console.Error.WriteLine($"  registration failed: {ex.Message}");
                    }

                    await agent.DisposeAsync();
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        return ([.. agents.OfType<LeanAgent>()], failed);
    }

    /// <summary>Stops the heartbeat loops (through <paramref name="stop"/>) and closes every agent's stream, a thousand at a time.</summary>
    public static async Task CloseAsync(IReadOnlyCollection<LeanAgent> agents, IEnumerable<Task> heartbeats, CancellationTokenSource stop)
    {
        await stop.CancelAsync();
        await Task.WhenAll(heartbeats);
        Progress.Say($"closing {agents.Count} streams…");
        foreach (var chunk in agents.Chunk(1_000))
        {
            await Task.WhenAll(chunk.Select(a => a.DisposeAsync().AsTask()));
        }
    }
}
