using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>
/// One cost shard (<see cref="ICostShardGrain"/>): it keeps an account per agent (connected since, settled up to, job
/// spans not yet settled, idle settled recently) and orchestrates; the arithmetic is <see cref="CostAllocator"/>'s and
/// <see cref="UsagePricing"/>'s. Each apply or settle is one atomic commit to <see cref="ICostStore"/> (rollup amounts,
/// changed accounts, log position), so a batch delivered again is skipped by position and nothing is counted twice.
/// </summary>
internal sealed class CostShardGrain(
    ICostStore store,
    IOptions<CostOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, ICostShardGrain, IRemindable,
    IMeshEventHandler<AgentStateChanged>, IMeshEventHandler<JobAttemptEnded>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Dictionary<string, AgentAccount> _agents = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly List<CostRollup> _rows = [];
    private readonly List<JobCostLine> _jobs = [];
    private readonly List<PendingSpan> _added = [];
    private readonly Dictionary<string, DateTimeOffset> _settled = new(StringComparer.Ordinal);
    private readonly CostOptions _options = options.Value;
    private long _position;
    private RateBook _book = RateBook.Empty;
    private long _bookVersion = -1;

    private string Shard => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var snapshot = await store.LoadShardAsync(Shard, cancellationToken);
        _position = snapshot.Position;
        foreach (var (agent, json) in snapshot.Agents)
        {
            var account = JsonSerializer.Deserialize<AgentAccount>(json, Json)!;
            if (account.LegacyPending is { Count: > 0 } legacy)
            {
                // An account stored before its spans had their own rows (sql/0015): they move there with the next commit.
                account.Pending.AddRange(legacy);
                _added.AddRange(legacy.Select(s => new PendingSpan(agent, s)));
                _dirty.Add(agent);
            }

            account.LegacyPending = null;
            _agents[agent] = account;
        }

        foreach (var pending in snapshot.PendingSpans)
        {
            if (_agents.TryGetValue(pending.Agent, out var account))
            {
                account.Pending.Add(pending.Span);
            }
        }

        this.RegisterGrainTimer(static (self, _) => self.SettleAsync(null), this,
            new GrainTimerCreationOptions { DueTime = _options.FlushInterval, Period = _options.FlushInterval, Interleave = false, KeepAlive = true });
        await this.RegisterOrUpdateReminder("settle", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)); // brings the shard back after a silo failure
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask; // activation starts the timer

    public async Task ApplyAsync(ImmutableArray<MeshEvent> events)
    {
        var last = _position;
        await RefreshBookAsync();
        foreach (var e in events)
        {
            if (e.Position <= _position)
            {
                continue; // delivered before and committed
            }

            MeshEventDispatch.Dispatch(this, e);
            last = Math.Max(last, e.Position);
        }

        if (last != _position || _rows.Count > 0 || _jobs.Count > 0)
        {
            await CommitAsync(last);
        }
    }

    public async Task SettleAsync(DateTimeOffset? upTo = null)
    {
        await RefreshBookAsync();
        var now = time.GetUtcNow();
        var horizon = upTo ?? now - _options.SettleDelay;
        foreach (var (id, account) in _agents.ToList())
        {
            Settle(id, account, account.Online ? horizon : Min(horizon, account.OfflineAt ?? account.AccountedUntil));
            var before = account.Idle.Count;
            account.Idle.RemoveAll(i => i.Hour < now - _options.ReclaimWindow);
            if (account.Idle.Count != before)
            {
                _dirty.Add(id);
            }

            if (!account.Online && account.Pending.Count == 0 && account.Idle.Count == 0 && account.AccountedUntil >= (account.OfflineAt ?? DateTimeOffset.MinValue))
            {
                _agents.Remove(id); // gone, settled, and past the window in which a late job could still reclaim its idle
                _dirty.Add(id);
            }
        }

        if (_dirty.Count > 0 || _rows.Count > 0)
        {
            await CommitAsync(_position);
        }
    }

    public void Handle(MeshEvent envelope, AgentStateChanged payload)
    {
        var agent = new CostedAgent(payload.AgentId, payload.Pool, payload.Runtime, payload.Region, payload.CostPerHour);
        _dirty.Add(payload.AgentId);
        if (!_agents.TryGetValue(payload.AgentId, out var account))
        {
            if (payload.To == AgentState.Offline)
            {
                return;
            }

            _agents[payload.AgentId] = new AgentAccount { Agent = agent, Online = true, AccountedUntil = envelope.At };
            return;
        }

        if (payload.To == AgentState.Offline)
        {
            if (account.Online)
            {
                account.Online = false;
                account.OfflineAt = Max(envelope.At, account.AccountedUntil);
            }

            return;
        }

        if (!account.Online)
        {
            // Back after being offline: what is left of the old connection is settled with the job ends known now.
            Settle(payload.AgentId, account, account.OfflineAt ?? account.AccountedUntil);
            account.Online = true;
            account.OfflineAt = null;
            account.AccountedUntil = Max(envelope.At, account.AccountedUntil);
        }

        account.Agent = agent; // the rate applies from the next settled time
    }

    public void Handle(MeshEvent envelope, JobAttemptEnded payload)
    {
        var agentId = payload.AgentId!;
        _agents.TryGetValue(agentId, out var account);
        var usage = UsagePricing.Cost(payload.Usage, _book, envelope.At);
        if (usage > 0)
        {
            var hour = CostAllocator.HourOf(envelope.At);
            var pool = account?.Agent.Pool ?? payload.Pool;
            _rows.Add(new CostRollup(hour, pool, payload.TenantId, agentId, payload.Capability, 0m, 0m, usage, 0));
            _jobs.Add(new JobCostLine(payload.JobId, hour, payload.TenantId, pool, payload.Capability, 0m, usage, 0));
        }

        if (account is null || payload.RunTime <= TimeSpan.Zero)
        {
            return;
        }

        var span = new BusySpan(payload.JobId, payload.TenantId, payload.Capability, envelope.At - payload.RunTime, envelope.At);
        _dirty.Add(agentId);
        if (span.From < account.AccountedUntil)
        {
            var (rows, left) = CostAllocator.Reclaim(account.Agent, span, span.From, Min(span.To, account.AccountedUntil), [.. account.Idle], _book);
            _rows.AddRange(rows);
            _jobs.AddRange(rows.Where(r => r.Tenant != CostRollup.IdleTenant)
                .Select(r => new JobCostLine(span.JobId, r.Hour, r.Tenant, r.Pool, r.Capability, r.Allocated, 0m, r.AgentMs)));
            account.Idle = [.. left];
        }

        if (span.To > account.AccountedUntil)
        {
            var pending = span with { From = Max(span.From, account.AccountedUntil) };
            account.Pending.Add(pending);
            _added.Add(new PendingSpan(agentId, pending));
        }
    }

    private void Settle(string id, AgentAccount account, DateTimeOffset end)
    {
        if (end <= account.AccountedUntil)
        {
            return;
        }

        var (rows, jobs) = CostAllocator.AllocateWithJobs(account.Agent, account.AccountedUntil, end, account.Pending, _book);
        _rows.AddRange(rows);
        _jobs.AddRange(jobs);
        foreach (var idle in rows.Where(r => r.Tenant == CostRollup.IdleTenant))
        {
            var index = account.Idle.FindIndex(i => i.Hour == idle.Hour);
            if (index < 0)
            {
                account.Idle.Add(new SettledIdle(idle.Hour, idle.Idle, idle.AgentMs));
            }
            else
            {
                account.Idle[index] = account.Idle[index] with { Amount = account.Idle[index].Amount + idle.Idle, Ms = account.Idle[index].Ms + idle.AgentMs };
            }
        }

        account.AccountedUntil = end;
        if (account.Pending.RemoveAll(s => s.To <= end) > 0)
        {
            _settled[id] = end;
        }

        _dirty.Add(id);
    }

    private async Task CommitAsync(long position)
    {
        var agents = _dirty.ToDictionary(id => id, id => _agents.TryGetValue(id, out var a) ? JsonSerializer.Serialize(a, Json) : null, StringComparer.Ordinal);
        var rows = _rows.Where(r => r.Allocated != 0 || r.Idle != 0 || r.Usage != 0 || r.AgentMs != 0).ToList();
        var jobs = _jobs.Where(j => j.Allocated != 0 || j.Usage != 0 || j.AgentMs != 0).ToList();
        try
        {
            await store.CommitAsync(new CostCommit(Shard, position, agents, rows, jobs, [.. _added], new Dictionary<string, DateTimeOffset>(_settled, StringComparer.Ordinal)));
        }
        catch
        {
            // What was applied in memory was not committed: start again from the store (the batch is redelivered).
            DeactivateOnIdle();
            throw;
        }
        finally
        {
            _rows.Clear();
            _jobs.Clear();
            _dirty.Clear();
            _added.Clear();
            _settled.Clear();
        }

        _position = position;
        CostMetrics.Committed(rows);
    }

    private async Task RefreshBookAsync()
    {
        var set = await GrainFactory.GetGrain<IRateCardGrain>(0).GetCardsAsync();
        if (set.Version != _bookVersion)
        {
            _book = new RateBook(set.Cards);
            _bookVersion = set.Version;
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>A cost shard's account of one agent (stored as JSON with the shard's commits).</summary>
public sealed class AgentAccount
{
    public CostedAgent Agent { get; set; } = null!;

    public bool Online { get; set; }

    /// <summary>Connected time before this is settled into rollups.</summary>
    public DateTimeOffset AccountedUntil { get; set; }

    /// <summary>When it went offline (connected time ends there), while it is offline.</summary>
    public DateTimeOffset? OfflineAt { get; set; }

    /// <summary>
    /// Job spans reported after <see cref="AccountedUntil"/>, not yet settled. Stored as rows of their own
    /// (<see cref="ICostStore"/>, sql/0015_cost_pending.sql), not with the account: the account stays small however
    /// many jobs the agent runs.
    /// </summary>
    [JsonIgnore]
    public List<BusySpan> Pending { get; set; } = [];

    /// <summary>The spans of an account stored before they had rows of their own; read once, never written.</summary>
    [JsonPropertyName("pending")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<BusySpan>? LegacyPending { get; set; }

    /// <summary>Idle settled per hour within the reclaim window.</summary>
    public List<SettledIdle> Idle { get; set; } = [];
}
