using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Grains.Kernel.Dispatch;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Kernel.Dispatch;

public enum QueueOpKind
{
    Add,
    Take,
    Return,
    Remove,
    EndInFlight,
    Advance,
}

/// <summary>One step of a random run against the index. Unused fields are ignored by the step's kind.</summary>
public sealed record QueueOp(QueueOpKind Kind, int Job, int Priority, int DelayMs, int Max, int AdvanceMs, int Pick);

public static class QueueOpArbitrary
{
    public static Arbitrary<QueueOp> Ops() =>
        (from kind in Gen.Frequency(
                (5, Gen.Constant(QueueOpKind.Add)),
                (4, Gen.Constant(QueueOpKind.Take)),
                (2, Gen.Constant(QueueOpKind.Return)),
                (1, Gen.Constant(QueueOpKind.Remove)),
                (2, Gen.Constant(QueueOpKind.EndInFlight)),
                (2, Gen.Constant(QueueOpKind.Advance)))
         from job in Gen.Choose(0, QueueIndexPropertyTests.Jobs - 1)
         from priority in Gen.Choose(-1, 10)
         from delay in Gen.Elements(0, 0, 0, -100, 50, 200)
         from max in Gen.Choose(0, 5)
         from advance in Gen.Choose(0, 150)
         from pick in Gen.Choose(0, 255)
         select new QueueOp(kind, job, priority, delay, max, advance, pick)).ToArbitrary();
}

/// <summary>
/// Random runs of Add/Take/Return/Remove/EndInFlight/PromoteDue against a simple model of the index: every public
/// figure must match the model after every step, and every Take must respect max, caps, priority and work conservation.
/// </summary>
public sealed class QueueIndexPropertyTests
{
    public const int Jobs = 12;

    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid[] Ids = [.. Enumerable.Range(1, Jobs).Select(i => new Guid(i, 0, 0, new byte[8]))];
    private static readonly string[] Tenants = ["t0", "t1", "t2"];

    private static string TenantOf(int job) => Tenants[job % Tenants.Length];

    private static int CapOf(string tenant) => tenant switch
    {
        "t0" => 1,
        "t1" => 2,
        _ => int.MaxValue,
    };

    [Property(Arbitrary = [typeof(QueueOpArbitrary)], MaxTest = 300, EndSize = 120)]
    public void Random_operations_keep_the_index_consistent_with_its_model(QueueOp[] ops)
    {
        var clock = new FakeTimeProvider(T0);
        var index = new QueueIndex();
        var model = new Model();

        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case QueueOpKind.Add:
                    CheckAdd(index, model, op, clock.GetUtcNow());
                    break;
                case QueueOpKind.Take:
                    CheckTake(index, model, op.Max, clock.GetUtcNow());
                    break;
                case QueueOpKind.Return:
                    CheckReturn(index, model, op.Pick, clock.GetUtcNow());
                    break;
                case QueueOpKind.Remove:
                    Assert.Equal(model.Indexed.Remove(op.Job), index.Remove(Ids[op.Job]));
                    break;
                case QueueOpKind.EndInFlight:
                    Assert.Equal(model.InFlight.Remove(op.Job), index.EndInFlight(Ids[op.Job]));
                    model.Outstanding.RemoveAll(t => t.JobId == Ids[op.Job]);
                    break;
                case QueueOpKind.Advance:
                    clock.Advance(TimeSpan.FromMilliseconds(op.AdvanceMs));
                    CheckPromoteDue(index, model, clock.GetUtcNow());
                    break;
                default:
                    throw new InvalidOperationException(op.Kind.ToString());
            }

            CheckInvariants(index, model, clock.GetUtcNow());
        }
    }

    private static void CheckAdd(QueueIndex index, Model model, QueueOp op, DateTimeOffset now)
    {
        var expected = !model.Indexed.ContainsKey(op.Job);
        var at = now + TimeSpan.FromMilliseconds(op.DelayMs);

        Assert.Equal(expected, index.Add(new QueuedJob(Ids[op.Job], TenantOf(op.Job), op.Priority, at, now), now));

        // Adding a job ends its in-flight, whether or not it was already indexed.
        model.InFlight.Remove(op.Job);
        model.Outstanding.RemoveAll(t => t.JobId == Ids[op.Job]);
        if (expected)
        {
            model.Indexed[op.Job] = new Entry(Math.Clamp(op.Priority, 0, 9), at, Ready: at <= now, EnqueuedAt: now);
        }
    }

    private static void CheckReturn(QueueIndex index, Model model, int pick, DateTimeOffset now)
    {
        var back = model.Outstanding.Where((_, i) => (pick & (1 << (i % 8))) != 0).ToList();

        index.Return(back, now);

        foreach (var job in back)
        {
            var n = Array.IndexOf(Ids, job.JobId);
            Assert.True(model.InFlight.Remove(n));
            Assert.False(model.Indexed.ContainsKey(n));
            model.Indexed[n] = new Entry(job.Priority, now, Ready: true, job.EnqueuedAt, HandedBack: true);
            model.Outstanding.Remove(job);
        }
    }

    private static void CheckPromoteDue(QueueIndex index, Model model, DateTimeOffset now)
    {
        var due = model.Indexed.Where(e => !e.Value.Ready && e.Value.AvailableAt <= now).Select(e => e.Key).ToList();

        Assert.Equal(due.Count, index.PromoteDue(now));

        foreach (var n in due)
        {
            model.Indexed[n] = model.Indexed[n] with { Ready = true };
        }
    }

    private static void CheckTake(QueueIndex index, Model model, int max, DateTimeOffset now)
    {
        var taken = index.Take(max, CapOf, now);

        Assert.True(taken.Count <= max, $"took {taken.Count} > max {max}");
        Assert.Equal(taken.Count, taken.Select(t => t.JobId).Distinct().Count());
        for (var i = 1; i < taken.Count; i++)
        {
            Assert.True(taken[i - 1].Priority >= taken[i].Priority, "a lower priority was taken before a higher one");
        }

        foreach (var job in taken)
        {
            var n = Array.IndexOf(Ids, job.JobId);
            Assert.True(model.Indexed.TryGetValue(n, out var entry), $"job {n} taken while not indexed (taken twice?)");
            Assert.True(entry.Ready, $"job {n} taken before it was available");
            Assert.DoesNotContain(n, model.InFlight);
            Assert.Equal(new TakenJob(Ids[n], TenantOf(n), entry.Priority, entry.EnqueuedAt, entry.HandedBack), job);
            model.Indexed.Remove(n);
            model.InFlight.Add(n);
            model.Outstanding.Add(job);
        }

        // Work conservation and priority: whatever is still ready belongs to a tenant at its cap, unless max was reached,
        // and then no taken job is of a lower priority than a ready job of a tenant below its cap.
        foreach (var (n, entry) in model.Indexed.Where(e => e.Value.Ready))
        {
            var tenant = TenantOf(n);
            if (model.InFlightOf(tenant) >= CapOf(tenant))
            {
                continue;
            }

            Assert.True(taken.Count == max, $"job {n} of uncapped tenant {tenant} left behind with only {taken.Count} of {max} taken");
            Assert.All(taken, t => Assert.True(t.Priority >= entry.Priority, $"took priority {t.Priority} before ready job {n} of priority {entry.Priority}"));
        }
    }

    private static void CheckInvariants(QueueIndex index, Model model, DateTimeOffset now)
    {
        for (var n = 0; n < Jobs; n++)
        {
            var indexed = index.Contains(Ids[n]);
            var inFlight = index.IsRecentlyTaken(Ids[n], now, TimeSpan.MaxValue);
            Assert.False(indexed && inFlight, $"job {n} is both indexed and in flight");
            Assert.Equal(model.Indexed.ContainsKey(n), indexed);
            Assert.Equal(model.InFlight.Contains(n), inFlight);
        }

        Assert.Equal(model.Indexed.Count, index.Count);
        Assert.Equal(model.Indexed.Count(e => e.Value.Ready), index.ReadyCount);
        Assert.Equal(model.Indexed.Count(e => !e.Value.Ready), index.DelayedCount);
        Assert.Equal(index.Count, index.ReadyCount + index.DelayedCount);

        var pending = model.Indexed.Keys.GroupBy(TenantOf).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(pending, index.PendingByTenant.ToDictionary());
        Assert.Equal(index.Count, index.PendingByTenant.Values.Sum());

        var inFlightByTenant = model.InFlight.GroupBy(TenantOf).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(inFlightByTenant, index.InFlightByTenant.ToDictionary());
        Assert.All(index.InFlightByTenant, kv => Assert.True(kv.Value <= CapOf(kv.Key), $"{kv.Key} has {kv.Value} in flight over its cap"));
        foreach (var tenant in Tenants)
        {
            Assert.Equal(pending.GetValueOrDefault(tenant), index.PendingOf(tenant));
            Assert.Equal(inFlightByTenant.GetValueOrDefault(tenant), index.InFlightOf(tenant));
        }

        var delayed = model.Indexed.Values.Where(e => !e.Ready).Select(e => (DateTimeOffset?)e.AvailableAt).Min();
        Assert.Equal(delayed, index.NextDueAt());
        var oldest = model.Indexed.Values.Where(e => e.Ready).Select(e => (DateTimeOffset?)e.EnqueuedAt).Min();
        Assert.Equal(oldest, index.OldestReadySince());
    }

    private sealed record Entry(int Priority, DateTimeOffset AvailableAt, bool Ready, DateTimeOffset EnqueuedAt, bool HandedBack = false);

    private sealed class Model
    {
        public Dictionary<int, Entry> Indexed { get; } = [];

        public HashSet<int> InFlight { get; } = [];

        /// <summary>Taken jobs still in flight, which a dispatcher could give back.</summary>
        public List<TakenJob> Outstanding { get; } = [];

        public int InFlightOf(string tenant) => InFlight.Count(n => TenantOf(n) == tenant);
    }
}
