using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Sdk;

namespace MeshOs.Tests.Cluster;

/// <summary>
/// The clock of a test cluster's grains. Every grain timer, lease, heartbeat deadline, backoff and escalation of
/// the mesh reads this clock (installed as the silos' grains' clock; Orleans' own messaging, membership, placement
/// and reminders stay on real time), so mesh time moves only when a test moves it, in steps: before each step every
/// agent the test keeps alive heartbeats, and a step ends only when every grain timer it made due has finished its
/// tick. A busy machine then makes a test slower, never different: an agent that heartbeats is never late, a
/// deadline falls at the same mesh instant on every run, and mesh time never runs ahead of the grains.
/// </summary>
public sealed class ClusterClock(TimeSpan step)
{
    /// <summary>Generous: reached only when a timer tick never ends (a grain stuck, not a machine slow).</summary>
    private static readonly TimeSpan TickPatience = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly List<Func<Task>> _beforeStep = [];
    private readonly TickTrackingTime _time = new(new FakeTimeProvider(DateTimeOffset.UtcNow));

    /// <summary>How far mesh time moves at once: no more than the shortest timer interval the tests configure.</summary>
    public TimeSpan Step { get; } = step;

    /// <summary>The clock as the grains see it.</summary>
    public TimeProvider Time => _time;

    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>
    /// Makes this clock the clock of a silo's grains: Orleans' grain timers and every mesh grain and service read
    /// <see cref="TimeProviderNames.Grains"/>. Everything else keeps real time: Orleans' messaging, membership,
    /// placement (its retries and timeout) and reminders.
    /// </summary>
    public void Drive(ISiloBuilder silo) => silo.Services.AddKeyedSingleton<TimeProvider>(TimeProviderNames.Grains, _time);

    /// <summary>Runs <paramref name="action"/> before every step (an agent's heartbeat) until the result is disposed.</summary>
    public IDisposable BeforeEachStep(Func<Task> action)
    {
        lock (_gate)
        {
            _beforeStep.Add(action);
        }

        return new Registration(() =>
        {
            lock (_gate)
            {
                _beforeStep.Remove(action);
            }
        });
    }

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
        Func<Task>[] before;
        lock (_gate)
        {
            before = [.. _beforeStep];
        }

        await Task.WhenAll(before.Select(action => action()));
        _time.Advance(step);
        await _time.TicksDoneAsync(TickPatience);
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
    }

    /// <summary>
    /// A <see cref="FakeTimeProvider"/> that knows which one-shot timers have fired and not yet been re-armed or
    /// disposed. A grain timer is a one-shot timer that Orleans re-arms (or disposes) when the tick it queued has
    /// run, so "none pending" means every tick due so far has finished. A timer changed after it was armed and
    /// fired all the same (a race inside the fake clock) counts as stale: the grain timer ignores such a fire.
    /// </summary>
    private sealed class TickTrackingTime(FakeTimeProvider fake) : TimeProvider
    {
        private readonly HashSet<TrackedTimer> _pending = [];

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override long GetTimestamp() => fake.GetTimestamp();

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public void Advance(TimeSpan by) => fake.Advance(by);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new TrackedTimer(this, callback, state, period);
            timer.Attach(fake.CreateTimer(static t => ((TrackedTimer)t!).Fire(), timer, dueTime, period));
            return timer;
        }

        public async Task TicksDoneAsync(TimeSpan patience)
        {
            var deadline = DateTime.UtcNow + patience;
            while (true)
            {
                lock (_pending)
                {
                    if (_pending.Count == 0)
                    {
                        return;
                    }

                    if (DateTime.UtcNow > deadline)
                    {
                        throw new XunitException(
                            $"Timer ticks still running {patience.TotalSeconds:0} s after mesh time moved: {string.Join("; ", _pending)}");
                    }
                }

                await Task.Delay(1);
            }
        }

        private void SetPending(TrackedTimer timer, bool pending)
        {
            lock (_pending)
            {
                _ = pending ? _pending.Add(timer) : _pending.Remove(timer);
            }
        }

        private sealed class TrackedTimer(TickTrackingTime owner, TimerCallback callback, object? state, TimeSpan period) : ITimer
        {
            private readonly Lock _gate = new();
            private ITimer? _inner;
            private TimeSpan _period = period;
            private long _changes;
            private long _armedBy;

            public void Attach(ITimer inner) => _inner = inner;

            public void Fire()
            {
                lock (_gate)
                {
                    if (_period == Timeout.InfiniteTimeSpan && _changes == _armedBy)
                    {
                        owner.SetPending(this, true);
                    }
                }

                callback(state);
            }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                lock (_gate)
                {
                    _changes++;
                    _period = period;
                    if (dueTime != Timeout.InfiniteTimeSpan)
                    {
                        _armedBy = _changes;
                    }

                    owner.SetPending(this, false);
                }

                return _inner!.Change(dueTime, period);
            }

            public void Dispose()
            {
                lock (_gate)
                {
                    _changes++;
                    owner.SetPending(this, false);
                }

                _inner?.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }

            public override string ToString() => state?.ToString() ?? callback.Method.Name;
        }
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
