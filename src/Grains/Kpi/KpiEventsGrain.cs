using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Grains.Kpi;

/// <summary>Reads job ends from the event log (consumer <c>kpi</c>) for the end-to-end latency SLI.</summary>
[Alias("meshos.IKpiEventsGrain")]
public interface IKpiEventsGrain : IMeshEventConsumer
{
}

/// <summary>
/// Turns terminal attempt ends into end-to-end latency samples (the terminal attempt's queue wait + run time: from the
/// job becoming available for that attempt to its result), one sketch per scope and minute, sent to the scopes' SLI
/// collectors; a batch redelivered after a failure is skipped by position.
/// </summary>
internal sealed class KpiEventsGrain : Grain, IKpiEventsGrain
{
    private long _position;

    public async Task OnEventsAsync(ImmutableArray<MeshEvent> events)
    {
        var sketches = new Dictionary<(string Scope, DateTimeOffset Minute), long[]>();
        foreach (var e in events)
        {
            if (e.Position <= _position)
            {
                continue;
            }

            _position = e.Position;
            if (e.Payload is not JobAttemptEnded { Terminal: true } ended)
            {
                continue;
            }

            var index = LatencySketch.IndexOf((ended.QueueWait + ended.RunTime).TotalMilliseconds);
            var minute = MaintenanceCalendar.Floor(e.At);
            foreach (var scope in (string[])[SliScopes.Mesh, SliScopes.Tenant(ended.TenantId)])
            {
                if (!sketches.TryGetValue((scope, minute), out var sketch))
                {
                    sketches[(scope, minute)] = sketch = LatencySketch.Empty();
                }

                sketch[index]++;
            }
        }

        await Task.WhenAll(sketches.GroupBy(s => s.Key.Scope).Select(g => GrainFactory.GetGrain<ISliGrain>(g.Key).ReportAsync(
            [.. g.Select(s => new SliMinuteReport(s.Key.Minute, false, 0, 0, false, [], [.. s.Value]))])));
    }
}
