using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Dispatch;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// A REST agent's long-poll for work: it accepts up to its slots, and answers as soon as the first lease arrives
/// (plus a few milliseconds to gather others already on their way).
/// </summary>
internal sealed class PollAgentSession(AgentRegistration registration, AgentState state, TimeProvider time) : AgentSession(registration, state)
{
    private static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(5);
    private readonly Lock _gate = new();
    private readonly List<LeaseGrant> _grants = [];
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _finished;

    public override int Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _grants.Count;
            }
        }
    }

    public override bool TryDeliver(LeaseGrant grant)
    {
        lock (_gate)
        {
            if (_finished)
            {
                return false;
            }

            _grants.Add(grant);
        }

        _first.TrySetResult();
        return true;
    }

    /// <summary>Waits for leases up to <paramref name="wait"/>; afterwards nothing more is accepted.</summary>
    public async Task<IReadOnlyList<LeaseGrant>> CollectAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            await _first.Task.WaitAsync(wait, time, cancellationToken);
            await Task.Delay(Gather, time, cancellationToken);
        }
        catch (TimeoutException)
        {
        }
        catch (OperationCanceledException)
        {
        }

        lock (_gate)
        {
            _finished = true;
            return [.. _grants];
        }
    }
}
