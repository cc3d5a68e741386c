using System.Threading.Channels;
using MeshOs.Grains.Kernel.Agents;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MeshOs.Persistence.Agents;

/// <summary>
/// Group reads of agent records: every agent grain reads its record when it activates, and a fleet registering (or
/// reconnecting to a new silo) activates hundreds a second. Each of two reader loops takes every read waiting (up to a
/// batch) and answers them with one prepared statement, instead of one connection checkout, reset and unprepared
/// statement per agent.
/// </summary>
internal sealed partial class AgentReader(PostgresConnection connection, ILogger<AgentReader> logger) : BackgroundService
{
    private const int Readers = 2;
    private const int MaxBatch = 1_000;
    private static readonly string Query = $"SELECT {AgentRows.Columns} FROM meshos_agents WHERE agent_id = ANY($1)";

    private readonly Channel<Read> _queue = Channel.CreateUnbounded<Read>(new UnboundedChannelOptions { SingleReader = false });

    public Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken)
    {
        var read = new Read(agentId);
        if (!_queue.Writer.TryWrite(read))
        {
            read.Done.TrySetException(new InvalidOperationException("The agent store is shutting down."));
        }

        return read.Done.Task.WaitAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Readers).Select(_ => Task.Run(() => ReadLoopAsync(stoppingToken), stoppingToken)));

    private async Task ReadLoopAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Read>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var read))
                {
                    batch.Add(read);
                }

                if (batch.Count == 0)
                {
                    continue; // the other loop took them
                }

                try
                {
                    var found = await ReadBatchAsync(batch, stoppingToken);
                    batch.ForEach(r => r.Done.TrySetResult(found.GetValueOrDefault(r.AgentId)));
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogReadFailed(logger, batch.Count, ex);
                    batch.ForEach(r => r.Done.TrySetException(ex));
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        foreach (var read in batch)
        {
            read.Done.TrySetException(new OperationCanceledException("The agent store stopped."));
        }
    }

    /// <summary>One statement for the batch, prepared (Npgsql keeps it prepared on the pooled connection).</summary>
    private async Task<Dictionary<string, AgentRecord>> ReadBatchAsync(List<Read> batch, CancellationToken cancellationToken)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(Query, conn);
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.AgentId).Distinct(StringComparer.Ordinal).ToArray() });
        await command.PrepareAsync(cancellationToken);
        var found = new Dictionary<string, AgentRecord>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var agent = AgentRows.Read(reader);
            found[agent.AgentId] = agent;
        }

        return found;
    }

    private sealed class Read(string agentId)
    {
        public string AgentId { get; } = agentId;

        public TaskCompletionSource<AgentRecord?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} agent read(s) failed")]
    private static partial void LogReadFailed(ILogger logger, int count, Exception exception);
}
