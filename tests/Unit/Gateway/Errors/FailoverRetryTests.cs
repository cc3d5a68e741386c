using MeshOs.Abstractions;
using MeshOs.Gateway.Errors;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;

namespace MeshOs.Tests.Unit.Gateway.Errors;

/// <summary>Repeatable cluster calls: a silent or failed-over try is made again within the budget, anything else is not.</summary>
public sealed class FailoverRetryTests
{
    private static readonly RetryLimits Limits = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));

    [Fact]
    public async Task A_try_that_gets_no_answer_is_given_up_after_the_try_timeout_and_made_again()
    {
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var calls = 0;
        var run = FailoverRetry.RunAsync(() => ++calls == 1 ? new TaskCompletionSource<int>().Task : Task.FromResult(42),
            new RetryLimits(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)), time);

        var (result, retried) = await Drive(run, time);

        Assert.Equal(42, result);
        Assert.True(retried);
        Assert.Equal(2, calls);
        // The second try follows the try timeout and the first backoff (the clock moves in steps of 5 ms).
        Assert.InRange(time.GetUtcNow() - start, TimeSpan.FromMilliseconds(2_050), TimeSpan.FromMilliseconds(2_200));
    }

    [Fact]
    public async Task A_refusal_of_the_grain_reaches_the_caller_after_one_try()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var run = FailoverRetry.RunAsync<int>(() =>
        {
            calls++;
            throw MeshException.Exhausted("full");
        }, Limits, time);

        var refusal = await Assert.ThrowsAsync<MeshException>(() => Drive(run, time));

        Assert.Equal(MeshErrorCode.ResourceExhausted, refusal.Code);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Failovers_are_tried_again_backing_off_from_50_ms_until_the_budget_then_reach_the_caller()
    {
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var tries = new List<TimeSpan>();
        var run = FailoverRetry.RunAsync(() =>
        {
            tries.Add(time.GetUtcNow() - start);
            return Task.FromException(new SiloUnavailableException("gone"));
        }, Limits, time);

        await Assert.ThrowsAsync<SiloUnavailableException>(() => Drive(run, time));

        // At 0, then after 50, 100, 200 and 400 ms (at least: the clock moves in steps); the next wait (800 ms) would
        // end past the 1 s budget.
        Assert.Equal(5, tries.Count);
        Assert.Equal(TimeSpan.Zero, tries[0]);
        int[] backoffs = [50, 100, 200, 400];
        Assert.All(backoffs.Select((ms, i) => (ms, gap: tries[i + 1] - tries[i])), b => Assert.True(b.gap >= TimeSpan.FromMilliseconds(b.ms), $"{b.gap} < {b.ms} ms"));
    }

    [Fact]
    public async Task A_first_try_that_answers_is_not_a_retry()
    {
        var (result, retried) = await FailoverRetry.RunAsync(() => Task.FromResult("ok"), Limits, new FakeTimeProvider());

        Assert.Equal("ok", result);
        Assert.False(retried);
    }

    /// <summary>Moves the fake clock 5 ms at a time until <paramref name="run"/> has ended, and returns it.</summary>
    private static async Task<T> Drive<T>(Task<T> run, FakeTimeProvider time)
    {
        while (!run.IsCompleted)
        {
            // Let the continuations of the last step run (they may register the next timer) before time moves on.
            await Task.Delay(1);
            if (!run.IsCompleted)
            {
                time.Advance(TimeSpan.FromMilliseconds(5));
            }
        }

        return await run;
    }

    private static async Task Drive(Task run, FakeTimeProvider time) => await Drive(run.ContinueWith(t =>
    {
        t.GetAwaiter().GetResult();
        return true;
    }, TaskScheduler.Default), time);
}
