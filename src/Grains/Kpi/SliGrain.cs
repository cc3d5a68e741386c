using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Incidents;
using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Events;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// A scope's SLI collector (the mesh, or one tenant). Gateways flush their minute counts here once a minute; minutes
/// stay in memory until settled, then each is classified (good, bad, excluded by maintenance; for the mesh also
/// unobserved when no gateway reported it), written as a minute row and added to its 5-minute, hour and day rollups in
/// one store call. 5-minute SLO windows are judged as they close; the burn rate of the last 5 minutes and hour raises
/// (and clears) an incident on a fast burn. The mesh persists the last minute it closed, so minutes when no gateway was
/// up are counted as unobserved after a restart.
/// </summary>
internal sealed class SliGrain(
    [PersistentState("kpi-sli", MeshStorage.GrainStore)] IPersistentState<SliState> state,
    IKpiStore store,
    EventPublisher events,
    IOptions<KpiOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, ISliGrain
{
    /// <summary>The most minutes closed at once after a long outage (400 days), so a reactivation never loops without end.</summary>
    private static readonly TimeSpan MaxBackfill = TimeSpan.FromDays(400);

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private readonly SortedDictionary<DateTimeOffset, MinuteTally> _open = [];
    private readonly Queue<(DateTimeOffset Minute, long Requests, long Errors)> _recent = new();
    private WindowTally? _window;
    private DateTimeOffset _windowStart;
    private ImmutableArray<MaintenanceWindow> _maintenance = [];
    private bool _fastBurn;

    private string Scope => this.GetPrimaryKeyString();

    private bool IsMesh => Scope == SliScopes.Mesh;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(static (self, _) => self.CloseAsync(), this,
            new GrainTimerCreationOptions { DueTime = options.Value.CloseInterval, Period = options.Value.CloseInterval, Interleave = false, KeepAlive = IsMesh });
        return Task.CompletedTask;
    }

    public Task ReportAsync(ImmutableArray<SliMinuteReport> minutes)
    {
        foreach (var report in minutes)
        {
            var minute = MaintenanceCalendar.Floor(report.Minute);
            if (state.State.LastClosed is { } closed && minute <= closed)
            {
                continue; // closed already: a late flush (past the settle delay) is dropped
            }

            if (!_open.TryGetValue(minute, out var tally))
            {
                _open[minute] = tally = new MinuteTally();
            }

            tally.Add(report);
        }

        return Task.CompletedTask;
    }

    public async Task<int> CloseAsync()
    {
        var now = time.GetUtcNow();
        var settled = MaintenanceCalendar.Floor(now - options.Value.SettleDelay) - Minute; // the last minute that may close
        var minutes = MinutesToClose(settled);
        if (minutes.Count == 0 && !WindowDue(now))
        {
            return 0;
        }

        var rows = new Dictionary<(SliResolution, DateTimeOffset), SliRow>();
        if (minutes.Count > 0)
        {
            await LoadMaintenanceAsync(minutes[0], settled + Minute);
        }

        // Gaps count as unobserved only once the mesh has a last closed minute to count them from (not on its first close,
        // whose minutes may hold only end-to-end samples from the event log, reported before any gateway flush).
        var trackGaps = IsMesh && state.State.LastClosed is not null;
        foreach (var minute in minutes)
        {
            _open.Remove(minute, out var tally);
            CloseMinute(minute, tally, trackGaps, rows);
        }

        if (WindowDue(now))
        {
            JudgeWindow(rows);
        }

        if (rows.Count > 0)
        {
            await store.AddAsync([.. rows.Values]);
        }

        if (minutes.Count > 0)
        {
            state.State.LastClosed = minutes[^1];
            if (IsMesh)
            {
                await state.WriteStateAsync();
            }
        }

        await WatchBurnAsync();
        return minutes.Count;
    }

    public Task<BurnRates> GetBurnAsync()
    {
        var (short5, long60) = Burns();
        return Task.FromResult(new BurnRates(Scope, time.GetUtcNow(), short5, long60, _fastBurn, _fastBurn ? DedupKey : null));
    }

    private string DedupKey => "slo-burn/" + Scope;

    /// <summary>The minutes to close: the open ones up to <paramref name="settled"/>; for the mesh every minute since the last closed one.</summary>
    private List<DateTimeOffset> MinutesToClose(DateTimeOffset settled)
    {
        var open = _open.Keys.Where(m => m <= settled).ToList();
        if (!IsMesh || state.State.LastClosed is not { } last)
        {
            return open;
        }

        var start = last + Minute;
        if (settled - start > MaxBackfill)
        {
            start = settled - MaxBackfill;
        }

        var all = new List<DateTimeOffset>();
        for (var m = start; m <= settled; m += Minute)
        {
            all.Add(m);
        }

        return all;
    }

    private async Task LoadMaintenanceAsync(DateTimeOffset from, DateTimeOffset to)
    {
        // Read once per close (a window scheduled or cancelled since is seen at the next close).
        _maintenance = await GrainFactory.GetGrain<IMaintenanceGrain>(0).ListAsync(from, to, includeCancelled: false);
    }

    private void CloseMinute(DateTimeOffset minute, MinuteTally? tally, bool trackGaps, Dictionary<(SliResolution, DateTimeOffset), SliRow> rows)
    {
        var windowStart = SliRowMath.Bucket(minute, SliResolution.FiveMinutes);
        if (_window is not null && windowStart != _windowStart)
        {
            JudgeWindow(rows);
        }

        if (_window is null)
        {
            _window = new WindowTally();
            _windowStart = windowStart;
        }

        var excluded = MaintenanceCalendar.Excludes(_maintenance, minute);
        var observed = tally is { Gateways: > 0 };
        var row = SliRowMath.Empty(Scope, SliResolution.Minute, minute);
        if (tally is not null)
        {
            row = row with
            {
                Requests = tally.Requests,
                Errors = tally.Errors,
                Submit = [.. tally.Submit],
                EndToEnd = [.. tally.EndToEnd],
                ProbeFailedMinutes = tally.ProbeFailed ? 1 : 0,
            };
        }

        if (observed || tally is not null)
        {
            row = row with { ObservedMinutes = observed ? 1 : 0 };
        }

        if (excluded)
        {
            row = row with { ExcludedMinutes = 1 };
        }
        else if (!observed && trackGaps)
        {
            row = row with { UnobservedMinutes = 1 };
        }
        else if (tally is not null && SliRules.IsBad(tally.Requests, tally.Errors, tally.ProbeFailed, options.Value.BadMinuteErrorShare))
        {
            row = row with { BadMinutes = 1 };
        }

        _window.Minutes++;
        _window.ObservedMinutes += row.ObservedMinutes;
        _window.BadMinutes += row.BadMinutes;
        _window.UnobservedMinutes += row.UnobservedMinutes;
        _window.ExcludedMinutes += row.ExcludedMinutes;
        _window.Requests += row.Requests;
        _window.Errors += row.Errors;
        LatencySketch.AddTo(_window.Submit, row.Submit);

        AddRollups(row, rows);
        _recent.Enqueue((minute, row.Requests, row.Errors));
        while (_recent.Count > 60)
        {
            _recent.Dequeue();
        }
    }

    /// <summary>Judges the current window once it is complete (its end plus the settle delay has passed).</summary>
    private bool WindowDue(DateTimeOffset now) =>
        _window is not null && _windowStart + TimeSpan.FromMinutes(5) + options.Value.SettleDelay <= now;

    private void JudgeWindow(Dictionary<(SliResolution, DateTimeOffset), SliRow> rows)
    {
        var window = _window!;
        _window = null;
        if (!SliRules.IsJudged(window))
        {
            return;
        }

        var met = SliRules.Meets(window, options.Value) ? 1 : 0;
        foreach (var resolution in (SliResolution[])[SliResolution.FiveMinutes, SliResolution.Hour, SliResolution.Day])
        {
            var key = (resolution, SliRowMath.Bucket(_windowStart, resolution));
            var current = rows.GetValueOrDefault(key) ?? SliRowMath.Empty(Scope, resolution, key.Item2);
            rows[key] = current with { Windows = current.Windows + 1, WindowsMet = current.WindowsMet + met };
        }
    }

    private void AddRollups(SliRow minute, Dictionary<(SliResolution, DateTimeOffset), SliRow> rows)
    {
        if (minute.ObservedMinutes == 0 && minute.UnobservedMinutes == 0 && minute.ExcludedMinutes == 0 && minute.Requests == 0
            && LatencySketch.Count(minute.EndToEnd) == 0)
        {
            return;
        }

        rows[(SliResolution.Minute, minute.At)] = minute;
        foreach (var resolution in (SliResolution[])[SliResolution.FiveMinutes, SliResolution.Hour, SliResolution.Day])
        {
            var key = (resolution, SliRowMath.Bucket(minute.At, resolution));
            var current = rows.GetValueOrDefault(key) ?? SliRowMath.Empty(Scope, resolution, key.Item2);
            rows[key] = SliRowMath.Add(current, minute with { Resolution = resolution, At = key.Item2 });
        }
    }

    private (double? Five, double? Hour) Burns()
    {
        var o = options.Value;
        var last5 = _recent.Skip(Math.Max(0, _recent.Count - 5)).ToList();
        return (SliRules.BurnRate(last5.Sum(m => m.Requests), last5.Sum(m => m.Errors), o.AvailabilityTarget, o.BurnMinRequests),
            SliRules.BurnRate(_recent.Sum(m => m.Requests), _recent.Sum(m => m.Errors), o.AvailabilityTarget, o.BurnMinRequests));
    }

    private async Task WatchBurnAsync()
    {
        var (five, hour) = Burns();
        var fast = SliRules.IsFastBurn(five, hour, options.Value.FastBurnRate);
        if (fast == _fastBurn)
        {
            return;
        }

        _fastBurn = fast;
        await events.PublishAsync(new MeshEvent(0, time.GetUtcNow(), new SloBurnChanged(Scope, fast, five, hour, options.Value.FastBurnRate),
            TenantId: SliScopes.TenantOf(Scope)));
        var incidents = GrainFactory.GetGrain<IIncidentDirectoryGrain>(0);
        if (fast)
        {
            var who = SliScopes.TenantOf(Scope) is { } tenant ? $"tenant {tenant}" : "the mesh";
            await incidents.RaiseAsync(new Alert(DedupKey, IncidentSeverity.P2, $"Error budget burning fast for {who}", "slo",
                $"Burn rate {five:0.#}× over 5 min and {hour:0.#}× over 1 h (fast burn at {options.Value.FastBurnRate}×): at this rate the 30-day error budget is gone in {30 * 24 / hour!.Value:0.#} h."));
        }
        else
        {
            await incidents.ClearAsync(DedupKey, "burn rate back under the fast-burn threshold");
        }
    }

    private sealed class MinuteTally
    {
        public int Gateways { get; private set; }

        public long Requests { get; private set; }

        public long Errors { get; private set; }

        public bool ProbeFailed { get; private set; }

        public long[] Submit { get; } = LatencySketch.Empty();

        public long[] EndToEnd { get; } = LatencySketch.Empty();

        public void Add(SliMinuteReport report)
        {
            Gateways += report.FromGateway ? 1 : 0;
            Requests += report.Requests;
            Errors += report.Errors;
            ProbeFailed |= report.ProbeFailed;
            LatencySketch.AddTo(Submit, report.Submit);
            LatencySketch.AddTo(EndToEnd, report.EndToEnd);
        }
    }
}

[GenerateSerializer, Alias("meshos.SliState")]
public sealed class SliState
{
    /// <summary>The last minute closed (only the mesh's is written: it counts unobserved minutes from it after a restart).</summary>
    [Id(0)] public DateTimeOffset? LastClosed { get; set; }
}
