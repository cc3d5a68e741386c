using System.Collections.Concurrent;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Dispatch;

namespace MeshOs.Gateway.Jobs;

/// <summary>Gateway side of load shedding. Section <c>MeshOs:Admission</c> (the queues' settings share it).</summary>
public sealed class AdmissionGateOptions
{
    public const string Section = "MeshOs:Admission";

    /// <summary>
    /// After a queue refused a submit for load, this gateway refuses further submits to that pool and capability
    /// itself for this long, without asking the cluster (a refusal then costs no grain call). Default 100 ms; zero
    /// asks the queue every time.
    /// </summary>
    public TimeSpan GatewayHold { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// Remembers, per pool and capability, that its queue sheds load, for <see cref="AdmissionGateOptions.GatewayHold"/>:
/// the queue decides (it sees how long its jobs wait), the gateway only spares it the refused submits' calls. Past
/// saturation half of the offered submits may be refused; each would otherwise activate a job grain and call its queue.
/// </summary>
public sealed class AdmissionGate(TimeProvider time, Microsoft.Extensions.Options.IOptions<AdmissionGateOptions> options)
{
    /// <summary>More entries than this and the gate starts over (entries are bounded by queues).</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<QueueName, Closed> _closed = new();

    /// <summary>The refusal to answer now for this queue, or null to ask the queue.</summary>
    public RateLimitedException? Refusal(string pool, string capability)
    {
        if (_closed.IsEmpty || !_closed.TryGetValue(new QueueName(pool, capability), out var closed))
        {
            return null;
        }

        if (time.GetUtcNow() < closed.Until)
        {
            return new RateLimitedException(closed.RetryAfter, closed.Message);
        }

        _closed.TryRemove(new KeyValuePair<QueueName, Closed>(new QueueName(pool, capability), closed));
        return null;
    }

    /// <summary>
    /// Turns a queue's load-shedding refusal into the answer (429 / RESOURCE_EXHAUSTED with its retry time) and
    /// holds the gate for that queue; other failures are left as they are (null).
    /// </summary>
    public RateLimitedException? OnRefused(string pool, string capability, MeshException refusal)
    {
        if (refusal.Reason != MeshErrorReason.Overloaded)
        {
            return null;
        }

        var retryAfter = refusal.RetryAfter ?? TimeSpan.FromSeconds(1);
        var hold = options.Value.GatewayHold;
        if (hold > TimeSpan.Zero)
        {
            if (_closed.Count > MaxEntries)
            {
                _closed.Clear();
            }

            _closed[new QueueName(pool, capability)] = new Closed(time.GetUtcNow() + hold, retryAfter, refusal.Message);
        }

        return new RateLimitedException(retryAfter, refusal.Message);
    }

    private sealed record Closed(DateTimeOffset Until, TimeSpan RetryAfter, string Message);
}
