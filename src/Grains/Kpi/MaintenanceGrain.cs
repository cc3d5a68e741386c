using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Incidents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// The maintenance calendar (key 0): operator windows in grain storage (a few a month), recurring occurrences from
/// configuration. Scheduling and cancelling are announced to tenants through the incident webhooks (signed).
/// </summary>
internal sealed class MaintenanceGrain(
    [PersistentState("maintenance", MeshStorage.GrainStore)] IPersistentState<MaintenanceState> state,
    IOptions<MaintenanceOptions> options,
    IServiceProvider services,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, IMaintenanceGrain
{
    private readonly MaintenanceCalendar _calendar = new(options.Value);

    public Task<ImmutableArray<MaintenanceWindow>> ListAsync(DateTimeOffset from, DateTimeOffset to, bool includeCancelled) =>
        Task.FromResult(_calendar.Windows(state.State.Windows, from, to, includeCancelled));

    public Task<MaintenanceWindow?> GetAsync(string id) =>
        Task.FromResult(state.State.Windows.FirstOrDefault(w => w.Id == id));

    public async Task<MaintenanceWindow> ScheduleAsync(MaintenanceRequest request)
    {
        var now = time.GetUtcNow();
        _calendar.Validate(request, now);
        state.State.Sequence++;
        var id = $"mw-{request.Start.UtcDateTime:yyyyMMdd-HHmm}-{state.State.Sequence}";
        var window = new MaintenanceWindow(id, request.Kind, request.Start, request.End, request.Title.Trim(), request.Reason,
            request.Actor, now, now);
        state.State.Windows.RemoveAll(w => w.End < now - options.Value.History);
        state.State.Windows.Add(window);
        await state.WriteStateAsync();
        Announce("scheduled", window, now);
        return window;
    }

    public async Task<MaintenanceWindow> CancelAsync(string id, string actor)
    {
        var now = time.GetUtcNow();
        var index = state.State.Windows.FindIndex(w => w.Id == id);
        if (index < 0)
        {
            throw MeshException.NotFound($"Maintenance window '{id}'");
        }

        var window = state.State.Windows[index];
        if (!window.Active)
        {
            throw MeshException.Conflict($"Maintenance window '{id}' was already cancelled.");
        }

        if (window.End <= now)
        {
            throw MeshException.Conflict($"Maintenance window '{id}' has ended; its minutes stay excluded.");
        }

        // A window under way ends now (the minutes already excluded stay so); one not started excludes nothing.
        var cancelled = window.Start < now
            ? window with { End = MaintenanceCalendar.Floor(now).AddMinutes(1), CancelledAt = null, Reason = $"{window.Reason} (ended early by {actor})".Trim() }
            : window with { CancelledAt = now };
        state.State.Windows[index] = cancelled;
        await state.WriteStateAsync();
        Announce("cancelled", cancelled, now);
        return cancelled;
    }

    private void Announce(string @event, MaintenanceWindow window, DateTimeOffset now) =>
        services.GetService<IncidentNotifier>()?.NotifyMaintenance(new MaintenanceNotification(@event, window.Id, window.Kind.ToString(),
            window.Start, window.End, window.Title, window.Reason, now));
}

[GenerateSerializer, Alias("meshos.MaintenanceState")]
public sealed class MaintenanceState
{
    [Id(0)] public List<MaintenanceWindow> Windows { get; set; } = [];

    [Id(1)] public long Sequence { get; set; }
}
