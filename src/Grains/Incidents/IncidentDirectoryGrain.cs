using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Incidents;

/// <summary>
/// Deduplication and the index of incidents. Holds one summary per incident (bounded: the oldest resolved ones
/// drop out first) and the open incident of each dedup key. A reminder re-activates open incidents after a silo
/// failure so their escalation timers run again.
/// </summary>
internal sealed class IncidentDirectoryGrain(
    [PersistentState("incident-directory", MeshStorage.GrainStore)] IPersistentState<IncidentDirectoryState> state,
    IOptions<IncidentOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, IIncidentDirectoryGrain, IRemindable
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await this.RegisterOrUpdateReminder("wake-open-incidents", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        await WakeOpenIncidentsAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status) => await WakeOpenIncidentsAsync();

    public async Task<IncidentInfo> RaiseAsync(Alert alert)
    {
        Validate(alert);
        if (state.State.OpenByKey.TryGetValue(alert.DedupKey, out var openId))
        {
            var merged = await GrainFactory.GetGrain<IIncidentGrain>(openId).MergeAsync(alert);
            if (merged.IsOpen)
            {
                return merged;
            }
        }

        var id = NewId(time.GetUtcNow());
        state.State.OpenByKey[alert.DedupKey] = id;
        await state.WriteStateAsync();
        return await GrainFactory.GetGrain<IIncidentGrain>(id).OpenAsync(alert);
    }

    public async Task<IncidentInfo?> ClearAsync(string dedupKey, string reason)
    {
        if (!state.State.OpenByKey.TryGetValue(dedupKey, out var openId))
        {
            return null;
        }

        return await GrainFactory.GetGrain<IIncidentGrain>(openId).ResolveAsync("healing", reason, automatic: true);
    }

    public async Task RecordAsync(IncidentSummary summary)
    {
        var s = state.State;
        s.Index[summary.IncidentId] = summary;
        if (summary.State >= IncidentState.Resolved && s.OpenByKey.TryGetValue(summary.DedupKey, out var open) && open == summary.IncidentId)
        {
            s.OpenByKey.Remove(summary.DedupKey);
        }

        if (s.Index.Count > options.Value.IndexCapacity)
        {
            foreach (var old in s.Index.Values.Where(i => i.State >= IncidentState.Resolved).OrderBy(i => i.DetectedAt)
                         .Take(s.Index.Count - options.Value.IndexCapacity).ToList())
            {
                s.Index.Remove(old.IncidentId);
            }
        }

        await state.WriteStateAsync();
    }

    public Task<ImmutableArray<IncidentSummary>> ListAsync(IncidentFilter filter)
    {
        var query = state.State.Index.Values
            .Where(i => filter.Severity is null || i.Severity == filter.Severity)
            .Where(i => filter.State is null || i.State == filter.State)
            .Where(i => filter.Open is null || (i.State < IncidentState.Resolved) == filter.Open)
            .Where(i => filter.DetectedFrom is null || i.DetectedAt >= filter.DetectedFrom)
            .Where(i => filter.DetectedTo is null || i.DetectedAt < filter.DetectedTo)
            .OrderByDescending(i => i.IncidentId, StringComparer.Ordinal)
            .Where(i => filter.AfterIncidentId is null || string.CompareOrdinal(i.IncidentId, filter.AfterIncidentId) < 0)
            .Take(filter.Limit);
        return Task.FromResult(query.ToImmutableArray());
    }

    public Task<string?> FindOpenAsync(string dedupKey) =>
        Task.FromResult(state.State.OpenByKey.TryGetValue(dedupKey, out var id) ? id : null);

    public Task<IncidentReport> GetReportAsync(DateTimeOffset from, DateTimeOffset to)
    {
        var window = state.State.Index.Values.Where(i => i.DetectedAt >= from && i.DetectedAt < to).ToList();
        var bySeverity = Enum.GetValues<IncidentSeverity>()
            .Select(severity => IncidentFiguresCalculator.Compute(severity.ToString(), window.Where(i => i.PeakSeverity == severity)))
            .ToImmutableArray();
        return Task.FromResult(new IncidentReport(from, to, IncidentFiguresCalculator.Compute("all", window), bySeverity));
    }

    private async Task WakeOpenIncidentsAsync()
    {
        foreach (var id in state.State.OpenByKey.Values.ToList())
        {
            await GrainFactory.GetGrain<IIncidentGrain>(id).GetAsync();
        }
    }

    /// <summary>Incident ids sort by detection time: inc-yyyyMMdd-HHmmss-xxxx.</summary>
    private static string NewId(DateTimeOffset now) =>
        $"inc-{now.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..3])}";

    private static void Validate(Alert alert)
    {
        if (string.IsNullOrWhiteSpace(alert.DedupKey) || alert.DedupKey.Length > 200)
        {
            throw MeshException.Invalid("dedupKey", "1–200 characters.");
        }

        if (string.IsNullOrWhiteSpace(alert.Title) || alert.Title.Length > 500)
        {
            throw MeshException.Invalid("title", "1–500 characters.");
        }

        if (!Enum.IsDefined(alert.Severity))
        {
            throw MeshException.Invalid("severity", "P0, P1, P2 or P3.");
        }

        if (alert.Detail is { Length: > 4_000 })
        {
            throw MeshException.Invalid("detail", "at most 4,000 characters.");
        }
    }
}

/// <summary>MTTA, MTTR and the automation rate over a set of incidents (pure).</summary>
public static class IncidentFiguresCalculator
{
    public static IncidentFigures Compute(string scope, IEnumerable<IncidentSummary> incidents)
    {
        var list = incidents.ToList();
        var resolved = list.Where(i => i.ResolvedAt is not null).ToList();
        var automatic = resolved.Count(i => i.ResolvedAutomatically);
        var acknowledged = list.Where(i => i.AcknowledgedAt is not null).ToList();
        return new IncidentFigures(
            scope,
            list.Count,
            resolved.Count,
            automatic,
            resolved.Count == 0 ? 0 : (double)automatic / resolved.Count,
            acknowledged.Count == 0 ? null : TimeSpan.FromTicks((long)acknowledged.Average(i => (i.AcknowledgedAt!.Value - i.DetectedAt).Ticks)),
            resolved.Count == 0 ? null : TimeSpan.FromTicks((long)resolved.Average(i => (i.ResolvedAt!.Value - i.DetectedAt).Ticks)));
    }
}

[GenerateSerializer, Alias("meshos.IncidentDirectoryState")]
public sealed class IncidentDirectoryState
{
    [Id(0)] public Dictionary<string, string> OpenByKey { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public Dictionary<string, IncidentSummary> Index { get; set; } = new(StringComparer.Ordinal);
}
