using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Testing;
using Npgsql;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// The PostgreSQL store when the database cannot be reached: every call fails with an exception within a bounded
/// time, so a grain can report the store unavailable instead of hanging. Needs no server.
/// </summary>
public sealed class PostgresUnavailableTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(8);

    private static readonly Dictionary<string, string?> FailFastMigration = new()
    {
        ["MeshOs:Migrations:ConnectAttempts"] = "1",
        ["MeshOs:Migrations:ConnectTimeout"] = "00:00:01",
    };

    [Fact]
    public async Task Every_call_fails_quickly_when_nothing_listens_on_the_port()
    {
        var connectionString = $"Host=127.0.0.1;Port={FreePort.Get()};Database=meshos;Username=postgres;Timeout=2";

        await AssertEveryCallFailsWithinBoundAsync(connectionString);
    }

    [Fact]
    public async Task Every_call_fails_within_the_connect_timeout_when_the_server_accepts_but_never_answers()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var silent = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    silent.Add(await listener.AcceptTcpClientAsync(stop.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        try
        {
            await AssertEveryCallFailsWithinBoundAsync($"Host=127.0.0.1;Port={port};Database=meshos;Username=postgres;Timeout=2");
        }
        finally
        {
            await stop.CancelAsync();
            await accepting;
            silent.ForEach(c => c.Dispose());
        }
    }

    private static async Task AssertEveryCallFailsWithinBoundAsync(string connectionString)
    {
        var clock = Stopwatch.StartNew();
        var startFailures = new List<Exception>();
        await using var backend = await PostgresBackend.StartAsync(connectionString, FailFastMigration, startFailures).WaitAsync(Bound);
        Assert.Single(startFailures);

        var job = Pending();
        var queue = new QueueKey("gpu", "llm", 0);
        var calls = new (string Name, Func<Task> Call)[]
        {
            ("InsertAsync", () => backend.Jobs.InsertAsync(job)),
            ("UpdateAsync", () => backend.Jobs.UpdateAsync(Leased(job, "agent-1", 1), [AttemptEnded(job)])),
            ("GetAsync", () => backend.Jobs.GetAsync(job.JobId)),
            ("ListAsync", () => backend.Jobs.ListAsync(new(job.TenantId, null, null, null, null, null, 10))),
            ("ListPendingAsync", () => backend.Jobs.ListPendingAsync(queue, null, 10)),
            ("ListLeasedAsync", () => backend.Jobs.ListLeasedAsync(queue, null, 10)),
            ("ListLeasedByAgentAsync", () => backend.Jobs.ListLeasedByAgentAsync("agent-1")),
            ("CountByStatusAsync", () => backend.Jobs.CountByStatusAsync()),
            ("PrepareDaysAsync", () => backend.Jobs.PrepareDaysAsync([DateOnly.FromDateTime(At(0).UtcDateTime)])),
            ("PruneAsync", () => backend.Jobs.PruneAsync(At(0))),
            ("AppendAsync", () => backend.Events.AppendAsync([AgentChanged(1)])),
            ("ReadAsync", () => backend.Events.ReadAsync(0, 10)),
            ("PrepareDaysAsync", () => backend.Events.PrepareDaysAsync([DateOnly.FromDateTime(At(0).UtcDateTime)])),
            ("PruneAsync", () => backend.Events.PruneAsync(At(0), long.MaxValue)),
        };

        var outcomes = await Task.WhenAll(calls.Select(async c =>
        {
            var call = c.Call();
            var finished = await Task.WhenAny(call, Task.Delay(Bound)) == call;
            var error = finished ? await Record.ExceptionAsync(() => call) : null;
            return $"{c.Name}: {(finished ? error?.GetType().Name ?? "succeeded" : "hung")}";
        }));

        Assert.Equal(calls.Select(c => $"{c.Name}: {nameof(NpgsqlException)}"), outcomes);
        Assert.True(clock.Elapsed < Bound + Bound, $"Took {clock.Elapsed}.");
    }
}
