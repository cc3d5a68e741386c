using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Xunit.Sdk;

namespace MeshOs.Tests.Cluster;

/// <summary>
/// The clock of a test cluster's grains. Every grain timer, lease, heartbeat deadline, backoff and escalation of
/// the mesh reads this <see cref="FakeTimeProvider"/> (installed as the silos' <see cref="TimeProvider"/>; Orleans'
/// own membership, messaging and directory timers stay on real time), so mesh time moves only when a test moves
/// it, in steps: before each step every agent the test keeps alive heartbeats, and after it the grains whose
/// timers fell due have finished their ticks (each step awaits a call to them, queued behind the tick). A busy
/// machine then makes a test slower, never different: an agent that heartbeats is never late, and a deadline
/// falls at the same mesh instant on every run.
/// </summary>
public sealed class ClusterClock(TimeSpan step)
{
    private readonly Lock _gate = new();
    private readonly List<Func<Task>> _beforeStep = [];
    private readonly List<Func<Task>> _afterStep = [];

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>How far mesh time moves at once: no more than the shortest timer interval the tests configure.</summary>
    public TimeSpan Step { get; } = step;

    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Makes this clock the clock of a silo's grains and services; Orleans' background areas keep real time.</summary>
    public void Drive(ISiloBuilder silo)
    {
        silo.Services.AddSingleton<TimeProvider>(Time);
        silo.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
    }

    /// <summary>Runs <paramref name="action"/> before every step (an agent's heartbeat) until the result is disposed.</summary>
    public IDisposable BeforeEachStep(Func<Task> action) => Register(_beforeStep, action);

    /// <summary>Awaits <paramref name="barrier"/> after every step (a call queued behind a grain's timer tick) until the result is disposed.</summary>
    public IDisposable AfterEachStep(Func<Task> barrier) => Register(_afterStep, barrier);

    /// <summary>Moves mesh time forward by <paramref name="by"/>, step by step.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        var end = Now + by;
        while (Now < end)
        {
            var left = end - Now;
            await StepAsync(left < Step ? left : Step);
        }
    }

    /// <summary>
    /// Reads until <paramref name="done"/> holds, stepping mesh time between reads; fails the test when
    /// <paramref name="within"/> of mesh time has passed first (a bound on the mesh, not on the machine).
    /// </summary>
    public async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within, string what)
    {
        var start = Now;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (Now - start >= within)
            {
                throw new XunitException($"Not within {within.TotalSeconds:0.0##} s of mesh time: {what}. Last seen: {Poll.Describe(value)}");
            }

            await StepAsync(Step);
        }
    }

    private async Task StepAsync(TimeSpan step)
    {
        await Task.WhenAll(Snapshot(_beforeStep).Select(action => action()));
        Time.Advance(step);
        await Task.WhenAll(Snapshot(_afterStep).Select(barrier => barrier()));
    }

    private Func<Task>[] Snapshot(List<Func<Task>> list)
    {
        lock (_gate)
        {
            return [.. list];
        }
    }

    private Registration Register(List<Func<Task>> list, Func<Task> action)
    {
        lock (_gate)
        {
            list.Add(action);
        }

        return new Registration(() =>
        {
            lock (_gate)
            {
                list.Remove(action);
            }
        });
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
    }
}

/// <summary>Waits for what no clock drives: a one-way message or a webhook on its way.</summary>
public static class Poll
{
    /// <summary>Generous: reached only when the awaited state never comes.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Reads until <paramref name="done"/> holds; fails the test with <paramref name="what"/> and the last value after <see cref="Patience"/>.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new XunitException($"Not within {Patience.TotalSeconds:0} s: {what}. Last seen: {Describe(value)}");
            }

            await Task.Delay(25);
        }
    }

    internal static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable items and not string => "[" + string.Join("; ", items.Cast<object?>().Select(i => i?.ToString())) + "]",
        _ => value.ToString() ?? string.Empty,
    };
}
