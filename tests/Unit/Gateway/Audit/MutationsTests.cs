using System.Net;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Audit;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Audit;

/// <summary>The one place every mutation passes through: recorders learn who did what to which object, and how it ended.</summary>
public sealed class MutationsTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly MeshCaller Operator =
        new(CallerKind.Operator, "operator", null, IPAddress.Loopback, "req-1", "corr-1", ApiTransport.Rest);

    /// <summary>A summary for the tests that are not about it.</summary>
    private static readonly AuditChange Reason = ChangeSummaries.AgentAction("test");

    private static readonly string ReasonDigest = Reason.Digest();

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly Recorder _recorder = new();

    private Mutations Mutations => new([_recorder], _clock);

    [Fact]
    public async Task A_mutation_that_succeeds_is_recorded_with_its_actor_action_target_and_time()
    {
        var answer = await Mutations.RunAsync(Operator, MeshActions.DrainAgent, MeshTargets.Agent("a-1"), Reason, () => Task.FromResult(42));

        Assert.Equal(42, answer);
        Assert.Equal(new MutationRecord(T0, Operator, "agents.drain", "agent/a-1", MutationOutcome.Succeeded, null, ReasonDigest), Assert.Single(_recorder.Records));
    }

    [Fact]
    public async Task A_refusal_is_recorded_with_its_code_and_still_reaches_the_caller()
    {
        var refusal = MeshException.NotFound("Agent 'a-2'");

        var thrown = await Assert.ThrowsAsync<MeshException>(() => Mutations.RunAsync(Operator, MeshActions.ReleaseAgent, MeshTargets.Agent("a-2"), Reason, () => throw refusal));

        Assert.Same(refusal, thrown);
        Assert.Equal(new MutationRecord(T0, Operator, "agents.release", "agent/a-2", MutationOutcome.Refused, MeshErrorCode.NotFound, ReasonDigest), Assert.Single(_recorder.Records));
    }

    [Fact]
    public async Task An_unavailable_store_or_a_fault_is_a_failure_not_a_refusal()
    {
        var jobId = Guid.Parse("01a24e82-2308-7e61-8194-c76930877723");
        await Assert.ThrowsAsync<MeshException>(() => Mutations.RunAsync(Operator, MeshActions.CancelJob, MeshTargets.Job(jobId), Reason,
            () => Task.FromException<int>(MeshException.Unavailable("store down"))));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Mutations.RunAsync(Operator, MeshActions.CancelJob, MeshTargets.Job(jobId), Reason,
            () => Task.FromException(new InvalidOperationException("bug"))));

        Assert.Equal([MutationOutcome.Failed, MutationOutcome.Failed], _recorder.Records.Select(r => r.Outcome));
        Assert.All(_recorder.Records, r => Assert.Equal(("jobs.cancel", "job/01a24e82-2308-7e61-8194-c76930877723", (MeshErrorCode?)null), (r.Action, r.Target, r.Code)));
    }

    [Fact]
    public async Task Without_recorders_the_change_is_only_run()
    {
        var runs = 0;
        await new Mutations([], _clock).RunAsync(Operator, MeshActions.RestartAgent, "agent/a", Reason, () =>
        {
            runs++;
            return Task.CompletedTask;
        });

        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task The_answer_waits_until_the_recorder_has_the_record()
    {
        var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recorder = new Recorder { Durable = durable.Task };
        var answer = new Mutations([recorder], _clock).RunAsync(Operator, MeshActions.DrainAgent, MeshTargets.Agent("a-1"), Reason, () => Task.FromResult(7));

        await recorder.Called.Task;
        Assert.False(answer.IsCompleted);
        durable.SetResult();
        Assert.Equal(7, await answer);
    }

    [Fact]
    public async Task A_record_that_cannot_be_kept_turns_the_answer_into_unavailable_for_a_success_and_a_refusal_alike()
    {
        var recorder = new Recorder { Durable = Task.FromException(new InvalidOperationException("audit store down")) };
        var mutations = new Mutations([recorder], _clock);

        var afterSuccess = await Assert.ThrowsAsync<MeshException>(() => mutations.RunAsync(Operator, MeshActions.DrainAgent, "agent/a", Reason, () => Task.FromResult(1)));
        var afterRefusal = await Assert.ThrowsAsync<MeshException>(() => mutations.RunAsync(Operator, MeshActions.DrainAgent, "agent/a", Reason,
            () => Task.FromException<int>(MeshException.NotFound("Agent 'a'"))));

        Assert.Equal((MeshErrorCode.Unavailable, MeshErrorCode.Unavailable), (afterSuccess.Code, afterRefusal.Code));
        Assert.IsType<InvalidOperationException>(afterSuccess.InnerException);
    }

    [Fact]
    public async Task A_change_summary_reaches_the_record_as_its_digest()
    {
        var summary = new AuditChange().Add("type", "build").Add("pool", (string?)null).Add("name", "ci");

        await Mutations.RunAsync(Operator, MeshActions.SubmitJob, "job/x", summary, () => Task.FromResult(1));

        Assert.Equal("d914b34292a3938931173b8c9fffad4a77e6d2b7b043f2fcc2225df5f1e9d5e4", Assert.Single(_recorder.Records).ChangeDigest);
    }

    private static readonly Guid JobId = Guid.Parse("01a24e82-2308-7e61-8194-c76930877723");

    private static AuditDraft Carried(string action) => new(
        new AuditActor("operator", "operator", null, "127.0.0.1"), action, MeshTargets.Job(JobId), null, AuditOutcome.Succeeded, null, "req-1", "corr-1", "rest", ReasonDigest);

    [Fact]
    public async Task A_success_whose_job_call_carried_its_entry_is_not_recorded_again_and_only_that_call_carries_it()
    {
        var recorder = new Recorder { Carries = true };
        var seen = new List<object?>();

        await new Mutations([recorder], _clock).RunAsync(Operator, MeshActions.CompleteJob, MeshTargets.Job(JobId), Reason, async () =>
        {
            seen.Add(RequestContext.Get(AuditCarried.ContextKey)); // a budget or policy check before the job call
            await AuditCarriage.CarryAsync(Guid.NewGuid(), () => { seen.Add(RequestContext.Get(AuditCarried.ContextKey)); return Task.CompletedTask; }); // another job
            await AuditCarriage.CarryAsync(JobId, () => { seen.Add(RequestContext.Get(AuditCarried.ContextKey)); return Task.CompletedTask; });
            seen.Add(RequestContext.Get(AuditCarried.ContextKey));
        });

        Assert.Equal([null, null, Carried(MeshActions.CompleteJob), null], seen);
        Assert.Empty(recorder.Records);
    }

    [Fact]
    public async Task A_carried_entry_whose_job_call_never_succeeded_is_recorded_by_the_gateway()
    {
        var recorder = new Recorder { Carries = true };

        // The change made no call to the job: the success is recorded here.
        await new Mutations([recorder], _clock).RunAsync(Operator, MeshActions.SubmitJob, MeshTargets.Job(JobId), Reason, () => Task.FromResult(1));
        // The job call failed: the refusal is recorded here (the kernel records nothing for a call that failed).
        await Assert.ThrowsAsync<MeshException>(() => new Mutations([recorder], _clock).RunAsync(Operator, MeshActions.StartJob, MeshTargets.Job(JobId), Reason,
            () => AuditCarriage.CarryAsync(JobId, () => Task.FromException(MeshException.NotFound("Job")))));

        Assert.Equal([(MeshActions.SubmitJob, MutationOutcome.Succeeded), (MeshActions.StartJob, MutationOutcome.Refused)],
            recorder.Records.Select(r => (r.Action, r.Outcome)));
    }

    private sealed class Recorder : IMutationRecorder
    {
        public List<MutationRecord> Records { get; } = [];

        /// <summary>Whether it offers the success's entry for the job call to carry (as the audit recorder does for job changes).</summary>
        public bool Carries { get; init; }

        public AuditDraft? Carriable(MutationRecord success) =>
            Carries ? new AuditDraft(AuditRecorder.Actor(success.Caller), success.Action, success.Target, null, AuditOutcome.Succeeded, null,
                success.Caller.RequestId, success.Caller.CorrelationId, "rest", success.ChangeDigest) : null;

        public Task Durable { get; init; } = Task.CompletedTask;

        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask RecordAsync(MutationRecord record)
        {
            Records.Add(record);
            Called.TrySetResult();
            return new ValueTask(Durable);
        }
    }
}
