using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Incidents;

/// <summary>
/// One incident. Every change is persisted and reported to the directory; a timer set for the next escalation or
/// reminder drives notifications while the incident is open (the directory re-activates open incidents after a silo
/// failure, and the timer picks up where it was from the persisted tier and times).
/// </summary>
internal sealed class IncidentGrain(
    [PersistentState("incident", MeshStorage.GrainStore)] IPersistentState<IncidentGrainState> state,
    IOptions<IncidentOptions> options,
    IncidentNotifier notifier,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, IIncidentGrain
{
    private const int MaxTimeline = 500;
    private IGrainTimer? _timer;

    private string IncidentId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Exists && IsOpen)
        {
            Schedule();
        }

        return Task.CompletedTask;
    }

    public async Task<IncidentInfo> OpenAsync(Alert alert)
    {
        if (state.State.Exists)
        {
            return await MergeAsync(alert);
        }

        var now = time.GetUtcNow();
        var s = state.State;
        s.Exists = true;
        s.DedupKey = alert.DedupKey;
        s.Title = alert.Title;
        s.Source = alert.Source;
        s.Severity = s.PeakSeverity = alert.Severity;
        s.Stage = IncidentState.Detected;
        s.DetectedAt = now;
        s.AlertCount = 1;
        Add(now, "detected", alert.Source, $"[{alert.Severity}] {alert.Title}: {alert.Detail}");
        await EscalateAsync(now, save: false);
        return await SaveAsync();
    }

    public async Task<IncidentInfo> MergeAsync(Alert alert)
    {
        EnsureExists();
        var s = state.State;
        var now = time.GetUtcNow();
        s.AlertCount++;
        if (alert.Severity != s.Severity && IsOpen)
        {
            var direction = alert.Severity < s.Severity ? "raised" : "lowered";
            Add(now, "severity", alert.Source, $"severity {direction} {s.Severity} → {alert.Severity}: {alert.Detail}");
            s.Severity = alert.Severity;
            if (alert.Severity < s.PeakSeverity)
            {
                s.PeakSeverity = alert.Severity;
            }

            if (alert.Severity < s.PeakNotified)
            {
                // Worse than anything notified so far: tell the current tier now.
                Notify(now, EscalationPolicy.Escalated, Math.Max(1, s.Tier), $"severity raised to {alert.Severity}");
            }

            s.Title = alert.Title;
        }
        else if (s.AlertCount <= 20 || s.AlertCount % 100 == 0)
        {
            Add(now, "alert", alert.Source, alert.Detail);
        }

        Schedule();
        return await SaveAsync();
    }

    public Task<IncidentInfo?> GetAsync() => Task.FromResult(state.State.Exists ? ToInfo() : null);

    public async Task<IncidentInfo> AcknowledgeAsync(string actor)
    {
        EnsureExists();
        var s = state.State;
        if (s.AcknowledgedAt is null && IsOpen)
        {
            var now = time.GetUtcNow();
            s.AcknowledgedAt = now;
            s.Stage = IncidentState.Triaged;
            Add(now, "acknowledged", actor, $"acknowledged by {actor}");
            Schedule();
        }

        return await SaveAsync();
    }

    public async Task<IncidentInfo> AssignAsync(string commander, string actor)
    {
        EnsureExists();
        RequireText(commander, "commander", 200);
        var now = time.GetUtcNow();
        state.State.Commander = commander;
        Add(now, "assigned", actor, $"incident commander: {commander}");
        if (state.State.AcknowledgedAt is null && IsOpen)
        {
            return await AcknowledgeAsync(actor);
        }

        return await SaveAsync();
    }

    public async Task<IncidentInfo> AnnotateAsync(string actor, string message)
    {
        EnsureExists();
        RequireText(message, "message", 4_000);
        Add(time.GetUtcNow(), "note", actor, message);
        return await SaveAsync();
    }

    public async Task<IncidentInfo> AdvanceAsync(IncidentState next, string actor, string? note)
    {
        EnsureExists();
        var s = state.State;
        if (next is not (IncidentState.Investigating or IncidentState.Mitigated))
        {
            throw MeshException.Invalid("state", "Investigating or Mitigated (resolve and post-mortem have their own calls).");
        }

        if (note is { Length: > 4_000 })
        {
            throw MeshException.Invalid("note", "at most 4,000 characters.");
        }

        if (!IsOpen || next <= s.Stage)
        {
            throw MeshException.Precondition($"The incident is {s.Stage}; it cannot move to {next}.");
        }

        var now = time.GetUtcNow();
        s.AcknowledgedAt ??= now;
        s.Stage = next;
        if (next == IncidentState.Mitigated)
        {
            s.MitigatedAt = now;
        }

        Add(now, "state", actor, note is { Length: > 0 } ? $"{next}: {note}" : next.ToString());
        Schedule();
        return await SaveAsync();
    }

    public async Task<IncidentInfo> ResolveAsync(string actor, string resolution, bool automatic)
    {
        EnsureExists();
        var s = state.State;
        if (!IsOpen)
        {
            return ToInfo();
        }

        var now = time.GetUtcNow();
        s.Stage = IncidentState.Resolved;
        s.ResolvedAt = now;
        s.MitigatedAt ??= now;
        s.ResolvedAutomatically = automatic && s.AcknowledgedAt is null;
        Add(now, "resolved", actor, automatic ? $"resolved automatically (automated remediation): {resolution}" : $"resolved: {resolution}");
        notifier.Notify(Notification(now, "resolved", s.Tier, resolution));
        _timer?.Dispose();
        _timer = null;
        return await SaveAsync();
    }

    public async Task<IncidentInfo> AttachPostMortemAsync(PostMortem postMortem)
    {
        EnsureExists();
        RequireText(postMortem.Summary, "summary", 20_000);
        RequireText(postMortem.RootCause, "rootCause", 20_000);
        var s = state.State;
        if (IsOpen)
        {
            throw MeshException.Precondition("Resolve the incident before attaching its post-mortem.");
        }

        var now = time.GetUtcNow();
        s.PostMortem = postMortem with { At = now, ActionItems = postMortem.ActionItems.IsDefault ? [] : postMortem.ActionItems };
        s.Stage = IncidentState.PostMortem;
        Add(now, "postmortem", postMortem.Author, "post-mortem attached");
        return await SaveAsync();
    }

    private bool IsOpen => state.State.Stage < IncidentState.Resolved;

    private async Task OnTimerAsync()
    {
        await EscalateAsync(time.GetUtcNow(), save: true);
    }

    private async Task EscalateAsync(DateTimeOffset now, bool save)
    {
        var s = state.State;
        var decision = EscalationPolicy.Evaluate(
            new EscalationState(s.Severity, s.AcknowledgedAt is not null, IsOpen, s.Tier, s.TierSince, s.LastNotifiedAt), now, options.Value);
        if (decision.NotifyTier is { } tier)
        {
            Notify(now, decision.Kind!, tier, decision.Kind switch
            {
                EscalationPolicy.Escalated => $"not acknowledged within {options.Value.EffectiveTiers[s.Tier - 1].ResponseTime}",
                EscalationPolicy.Reminder => s.AcknowledgedAt is null ? "still not acknowledged" : "still unresolved",
                _ => "new incident",
            });
            if (save)
            {
                await SaveAsync();
            }
        }

        Schedule();
    }

    private void Notify(DateTimeOffset now, string kind, int tier, string message)
    {
        var s = state.State;
        if (tier != s.Tier)
        {
            s.Tier = tier;
            s.TierSince = now;
        }

        s.LastNotifiedAt = now;
        if (s.Severity < s.PeakNotified)
        {
            s.PeakNotified = s.Severity;
        }

        var tierName = options.Value.EffectiveTiers[tier - 1].Name;
        Add(now, kind == EscalationPolicy.Reminder ? "notified" : kind == EscalationPolicy.Escalated ? "escalated" : "notified", "escalation",
            $"{kind}: {tierName} notified ({message})");
        notifier.Notify(Notification(now, kind, tier, message));
    }

    private IncidentNotification Notification(DateTimeOffset now, string kind, int tier, string message)
    {
        var s = state.State;
        var tierName = tier >= 1 && tier <= options.Value.EffectiveTiers.Count ? options.Value.EffectiveTiers[tier - 1].Name : string.Empty;
        return new IncidentNotification(kind, IncidentId, s.Title, s.Severity, s.Stage, tier, tierName, s.Commander, s.DetectedAt, now, message);
    }

    private void Schedule()
    {
        var s = state.State;
        var next = EscalationPolicy.Evaluate(
            new EscalationState(s.Severity, s.AcknowledgedAt is not null, IsOpen, s.Tier, s.TierSince, s.LastNotifiedAt), time.GetUtcNow(), options.Value);
        var at = next.NotifyTier is not null ? time.GetUtcNow() : next.NextCheckAt;
        if (at is null)
        {
            _timer?.Dispose();
            _timer = null;
            return;
        }

        var due = at.Value - time.GetUtcNow();
        due = (due < TimeSpan.Zero ? TimeSpan.Zero : due) + TimeSpan.FromMilliseconds(20);
        if (_timer is null)
        {
            _timer = this.RegisterGrainTimer(static (self, _) => self.OnTimerAsync(), this,
                new GrainTimerCreationOptions { DueTime = due, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true });
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task<IncidentInfo> SaveAsync()
    {
        await state.WriteStateAsync();
        var info = ToInfo();
        await GrainFactory.GetGrain<IIncidentDirectoryGrain>(0).RecordAsync(IncidentSummary.From(info));
        return info;
    }

    private void Add(DateTimeOffset at, string kind, string actor, string message)
    {
        var timeline = state.State.Timeline;
        timeline.Add(new TimelineEntry(at, kind, actor, message));
        if (timeline.Count > MaxTimeline)
        {
            timeline.RemoveAt(1); // keep the first entry (detection)
        }
    }

    private void EnsureExists()
    {
        if (!state.State.Exists)
        {
            throw MeshException.NotFound($"Incident '{IncidentId}'");
        }
    }

    private static void RequireText(string? value, string field, int max)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > max)
        {
            throw MeshException.Invalid(field, $"1–{max} characters.");
        }
    }

    private IncidentInfo ToInfo()
    {
        var s = state.State;
        return new IncidentInfo(IncidentId, s.DedupKey, s.Title, s.Source, s.Severity, s.PeakSeverity, s.Stage, s.Commander, s.Tier,
            s.DetectedAt, s.AcknowledgedAt, s.MitigatedAt, s.ResolvedAt, s.ResolvedAutomatically, s.AlertCount, [.. s.Timeline], s.PostMortem);
    }
}

[GenerateSerializer, Alias("meshos.IncidentGrainState")]
public sealed class IncidentGrainState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string DedupKey { get; set; } = string.Empty;
    [Id(2)] public string Title { get; set; } = string.Empty;
    [Id(3)] public string Source { get; set; } = string.Empty;
    [Id(4)] public IncidentSeverity Severity { get; set; }
    [Id(5)] public IncidentSeverity PeakSeverity { get; set; }
    [Id(6)] public IncidentState Stage { get; set; }
    [Id(7)] public string? Commander { get; set; }
    [Id(8)] public int Tier { get; set; }
    [Id(9)] public DateTimeOffset TierSince { get; set; }
    [Id(10)] public DateTimeOffset LastNotifiedAt { get; set; }
    [Id(11)] public DateTimeOffset DetectedAt { get; set; }
    [Id(12)] public DateTimeOffset? AcknowledgedAt { get; set; }
    [Id(13)] public DateTimeOffset? MitigatedAt { get; set; }
    [Id(14)] public DateTimeOffset? ResolvedAt { get; set; }
    [Id(15)] public bool ResolvedAutomatically { get; set; }
    [Id(16)] public int AlertCount { get; set; }
    [Id(17)] public List<TimelineEntry> Timeline { get; set; } = [];
    [Id(18)] public PostMortem? PostMortem { get; set; }
    /// <summary>The most severe level anyone was notified at (P3 until the first notification).</summary>
    [Id(19)] public IncidentSeverity PeakNotified { get; set; } = IncidentSeverity.P3;
}
