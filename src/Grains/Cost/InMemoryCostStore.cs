using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>The embedded mode's cost store: rollups and shard state in process memory, under one lock.</summary>
public sealed class InMemoryCostStore : ICostStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(DateTimeOffset Hour, string Pool, string Tenant, string Agent, string Capability), CostRollup> _rows = [];
    private readonly Dictionary<string, (long Position, Dictionary<string, string> Agents)> _shards = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PendingSpan>> _spans = new(StringComparer.Ordinal);
    private readonly Dictionary<(DateOnly Month, Guid Job), JobCost> _jobs = [];

    public Task<CostShardSnapshot> LoadShardAsync(string shard, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var spans = _spans.TryGetValue(shard, out var kept) ? kept.ToList() : [];
            return Task.FromResult(_shards.TryGetValue(shard, out var s)
                ? new CostShardSnapshot(s.Position, new Dictionary<string, string>(s.Agents, StringComparer.Ordinal), spans)
                : new CostShardSnapshot(0, new Dictionary<string, string>(StringComparer.Ordinal), spans));
        }
    }

    public Task CommitAsync(CostCommit commit, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var row in commit.Rollups)
            {
                var key = (row.Hour.ToUniversalTime(), row.Pool, row.Tenant, row.Agent, row.Capability);
                _rows[key] = _rows.TryGetValue(key, out var have)
                    ? have with
                    {
                        Allocated = have.Allocated + row.Allocated, Idle = have.Idle + row.Idle, Usage = have.Usage + row.Usage,
                        AgentMs = have.AgentMs + row.AgentMs,
                    }
                    : row with { Hour = key.Item1 };
            }

            foreach (var line in commit.JobLines)
            {
                var key = (CostRetentionPolicy.Months.PeriodOf(line.Hour), line.JobId);
                _jobs[key] = _jobs.TryGetValue(key, out var have)
                    ? have with { Allocated = have.Allocated + line.Allocated, Usage = have.Usage + line.Usage, AgentMs = have.AgentMs + line.AgentMs }
                    : new JobCost(line.JobId, string.Empty, line.Tenant, line.Pool, line.Capability, line.Allocated, line.Usage, line.AgentMs);
            }

            if (!_shards.TryGetValue(commit.Shard, out var shard))
            {
                shard = (0, new Dictionary<string, string>(StringComparer.Ordinal));
            }

            foreach (var (agent, state) in commit.Agents)
            {
                if (state is null)
                {
                    shard.Agents.Remove(agent);
                }
                else
                {
                    shard.Agents[agent] = state;
                }
            }

            if (!_spans.TryGetValue(commit.Shard, out var spans))
            {
                _spans[commit.Shard] = spans = [];
            }

            spans.AddRange(commit.AddedSpans);
            foreach (var (agent, through) in commit.SettledThrough)
            {
                spans.RemoveAll(p => p.Agent == agent && p.Span.To <= through);
            }

            _shards[commit.Shard] = (commit.Position, shard.Agents);
        }

        return Task.CompletedTask;
    }

    public Task<JobCost?> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var months = _jobs.Where(j => j.Key.Job == jobId).OrderBy(j => j.Key.Month).Select(j => j.Value).ToList();
            return Task.FromResult(months.Count == 0 ? null : months[0] with
            {
                Allocated = months.Sum(m => m.Allocated), Usage = months.Sum(m => m.Usage), AgentMs = months.Sum(m => m.AgentMs),
            });
        }
    }

    public Task<IReadOnlyList<CostSum>> SumAsync(CostSumQuery query, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<CostSum> sums = [.. _rows.Values.Where(query.Matches)
                .GroupBy(r => (Key: query.KeyOf(r), Bucket: query.BucketOf(r.Hour)))
                .Select(g => new CostSum(g.Key.Key, g.Key.Bucket, g.Sum(r => r.Allocated), g.Sum(r => r.Idle), g.Sum(r => r.Usage), g.Sum(r => r.AgentMs)))
                .OrderBy(s => s.Bucket).ThenBy(s => s.Key, StringComparer.Ordinal)];
            return Task.FromResult(sums);
        }
    }

    public Task<IReadOnlyList<DateOnly>> PrepareMonthsAsync(IReadOnlyList<DateOnly> months, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<DateOnly>>([]);

    public Task<IReadOnlyList<DateOnly>> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var months = CostRetentionPolicy.Months;
            var dropped = _rows.Keys.Select(k => months.PeriodOf(k.Hour)).Distinct().Where(m => months.IsDroppable(m, cutoff)).Order().ToList();
            foreach (var key in _rows.Keys.Where(k => months.IsDroppable(months.PeriodOf(k.Hour), cutoff)).ToList())
            {
                _rows.Remove(key);
            }

            foreach (var key in _jobs.Keys.Where(k => months.IsDroppable(k.Month, cutoff)).ToList())
            {
                _jobs.Remove(key);
            }

            return Task.FromResult<IReadOnlyList<DateOnly>>(dropped);
        }
    }
}
