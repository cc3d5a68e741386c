using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
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

    /// <summary>Whether this gateway sheds load at all (the queues read the same switch). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The most submits (jobs: a batch entry counts as one) this gateway has inside the cluster at once. Past it a
    /// submit waits in line (<see cref="MaxSubmitsWaiting"/>, <see cref="MaxSubmitWait"/>) or is refused at once with
    /// 429 / RESOURCE_EXHAUSTED, before any grain call: past saturation the refused work then costs the cluster nothing,
    /// and what it accepted keeps moving instead of timing out in grain mailboxes and the store's commit batches.
    /// Default 256; 0 means no limit.
    /// </summary>
    public int MaxSubmitsInFlight { get; set; } = 256;

    /// <summary>
    /// How many submits may wait for a place in flight. The newest waiting gets the next place, and a newcomer to a full
    /// line pushes out the oldest (refused at once): past saturation the accepted submits are the ones that waited
    /// least. Default 1,024; 0 refuses at once when no place is free.
    /// </summary>
    public int MaxSubmitsWaiting { get; set; } = 1_024;

    /// <summary>
    /// The longest a submit waits for a place in flight before it is refused. Default 150 ms: long enough to ride out
    /// a short commit stall without refusing, short enough that the wait (part of the job's way to an agent) does not
    /// become the backlog shedding is there to prevent (500 ms had the accepted jobs' dispatch p99 past a second).
    /// </summary>
    public TimeSpan MaxSubmitWait { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// The wait in a queue that this gateway steers the submits it lets in towards: while the jobs its dispatcher
    /// takes from a queue had waited longer (counting only the time its agents had room for them: a job waiting for
    /// busy agents is not a sign of overload), it refuses a growing share of the submits to that queue (see
    /// <see cref="QueueDelayController"/>). Default 50 ms.
    /// </summary>
    public TimeSpan TargetQueueDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Whether this gateway (and the queues, by <c>ShardQueueDelay</c>) shed by how long jobs wait (the queues read the same switch). Default true.</summary>
    public bool ShedByQueueWait { get; set; } = true;

    /// <summary>What a submit refused by this gateway is told to wait before trying again (the queues' setting too). Default 1 s.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The gateway's side of load shedding: three rules, all before any grain call. It bounds the submits it has inside
/// the cluster (<see cref="EnterAsync"/>): an overloaded cluster answers slower, so the bound holds back the offered
/// load that would otherwise pile up in mailboxes and time out. It refuses a share of the submits to a queue whose jobs
/// wait too long, steered by the waits of the jobs its own dispatcher takes (<see cref="QueueDelayController"/>), so
/// that what it lets in matches what the agents get through. And it remembers, per pool and capability, that a queue
/// shed load itself, for <see cref="AdmissionGateOptions.GatewayHold"/>. Every refusal costs the cluster nothing.
/// </summary>
public sealed class AdmissionGate : IDisposable
{
    /// <summary>More entries than this and the gate starts over (entries are bounded by queues).</summary>
    private const int MaxEntries = 10_000;

    private static readonly Meter Meter = new("MeshOs.Gateway");

    private static readonly Counter<long> Refused = Meter.CreateCounter<long>("meshos.admission.refused", "{submit}",
        "Submits the gateway refused for load before any grain call (reason: in-flight = its own limit, queue-delay = a queue whose jobs wait too long, queue = a queue that shed load a moment ago).");

    private readonly ConcurrentDictionary<QueueName, Closed> _closed = new();
    private readonly ConcurrentDictionary<QueueName, QueueDelayController> _delays = new();
    private readonly TimeProvider _time;
    private readonly AdmissionGateOptions _options;
    private readonly ConcurrencyLimiter? _inFlight;
    private readonly SubmitRefusal _atCapacity;
    private readonly Func<double> _draw;

    public AdmissionGate(TimeProvider time, Microsoft.Extensions.Options.IOptions<AdmissionGateOptions> options)
        : this(time, options, Random.Shared.NextDouble)
    {
    }

    /// <summary>With the uniform draws in [0, 1) that decide probabilistic refusals (tests pass their own).</summary>
    internal AdmissionGate(TimeProvider time, Microsoft.Extensions.Options.IOptions<AdmissionGateOptions> options, Func<double> draw)
    {
        _draw = draw;
        _time = time;
        _options = options.Value;
        var o = _options;
        _atCapacity = new SubmitRefusal(o.RetryAfter,
            $"The mesh is at capacity: this gateway has {o.MaxSubmitsInFlight} submits in flight and no place came free within "
            + $"{o.MaxSubmitWait.TotalMilliseconds:0} ms (MeshOs:Admission:MaxSubmitsInFlight); nothing was written, retry later.");
        if (o.Enabled && o.MaxSubmitsInFlight > 0)
        {
            _inFlight = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = o.MaxSubmitsInFlight,
                QueueLimit = o.MaxSubmitsWaiting,
                // The newest waiting submit gets the next place, and a full line drops its oldest (adaptive LIFO):
                // past saturation the submits accepted are the ones that waited least, while the ones refused are
                // those whose wait would have made them late anyway.
                QueueProcessingOrder = QueueProcessingOrder.NewestFirst,
            });
        }
    }

    /// <summary>Submits inside the cluster now (for tests and metrics).</summary>
    public long InFlight => _inFlight is null ? 0 : _options.MaxSubmitsInFlight - (_inFlight.GetStatistics()?.CurrentAvailablePermits ?? 0);

    /// <summary>
    /// A place inside the cluster for one submit to <paramref name="pool"/>/<paramref name="capability"/>, to dispose
    /// of once the submit ended (its audit record included); waits in line up to
    /// <see cref="AdmissionGateOptions.MaxSubmitWait"/>. A refusal (this gateway at its limit, or the queue shedding
    /// load a moment ago) is returned, not thrown: past saturation thousands come each second, and each should cost as
    /// little as possible.
    /// </summary>
    public async ValueTask<GatePass> EnterAsync(string pool, string capability, CancellationToken cancellationToken)
    {
        if (Refusal(pool, capability) is { } held)
        {
            Refused.Add(1, new KeyValuePair<string, object?>("reason", "queue"));
            return new GatePass(null, held);
        }

        if (QueueDelayRefusal(pool, capability) is { } late)
        {
            Refused.Add(1, new KeyValuePair<string, object?>("reason", "queue-delay"));
            return new GatePass(null, late);
        }

        if (_inFlight is null)
        {
            return new GatePass(NoLease.Instance, null);
        }

        var lease = _inFlight.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return new GatePass(lease, null);
        }

        lease.Dispose();
        var o = _options;
        if (o.MaxSubmitsWaiting > 0 && o.MaxSubmitWait > TimeSpan.Zero)
        {
            using var patience = new CancellationTokenSource(o.MaxSubmitWait, _time);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(patience.Token, cancellationToken);
            try
            {
                lease = await _inFlight.AcquireAsync(1, either.Token);
                if (lease.IsAcquired)
                {
                    return new GatePass(lease, null);
                }

                lease.Dispose();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Waited as long as allowed.
            }
        }

        Refused.Add(1, new KeyValuePair<string, object?>("reason", "in-flight"));
        return new GatePass(null, _atCapacity);
    }

    /// <summary>
    /// Jobs this gateway's dispatcher took from a queue, with when each began to wait for the mesh (queued, or later
    /// when its agents had no room until then): the measure <see cref="QueueDelayController"/> steers admissions by.
    /// </summary>
    public void OnTaken(string pool, string capability, IEnumerable<DateTimeOffset> waitingSince)
    {
        if (!_options.Enabled || !_options.ShedByQueueWait)
        {
            return;
        }

        if (_delays.Count > MaxEntries)
        {
            _delays.Clear();
        }

        _delays.GetOrAdd(new QueueName(pool, capability), _ => new QueueDelayController(_options.TargetQueueDelay))
            .Observe(_time.GetUtcNow(), waitingSince);
    }

    /// <summary>The share of submits to the queue refused now for its wait (0 when none).</summary>
    public double RefusalProbability(string pool, string capability) =>
        _delays.TryGetValue(new QueueName(pool, capability), out var controller) ? controller.Probability : 0;

    private SubmitRefusal? QueueDelayRefusal(string pool, string capability)
    {
        if (_delays.IsEmpty || !_delays.TryGetValue(new QueueName(pool, capability), out var controller)
            || !controller.ShouldRefuse(_time.GetUtcNow(), _draw()))
        {
            return null;
        }

        return new SubmitRefusal(_options.RetryAfter,
            $"Queue {pool}/{capability} is at capacity: its jobs wait longer than MeshOs:Admission:TargetQueueDelay "
            + $"({_options.TargetQueueDelay.TotalMilliseconds:0} ms), and this gateway refuses {controller.Probability:P0} of its submits for now; "
            + "nothing was written, retry later.");
    }

    public void Dispose() => _inFlight?.Dispose();

    /// <summary>The refusal to answer now for this queue, or null to ask the queue.</summary>
    private SubmitRefusal? Refusal(string pool, string capability)
    {
        if (_closed.IsEmpty || !_closed.TryGetValue(new QueueName(pool, capability), out var closed))
        {
            return null;
        }

        if (_time.GetUtcNow() < closed.Until)
        {
            return new SubmitRefusal(closed.RetryAfter, closed.Message);
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
        var hold = _options.GatewayHold;
        if (hold > TimeSpan.Zero)
        {
            if (_closed.Count > MaxEntries)
            {
                _closed.Clear();
            }

            _closed[new QueueName(pool, capability)] = new Closed(_time.GetUtcNow() + hold, retryAfter, refusal.Message);
        }

        return new RateLimitedException(retryAfter, refusal.Message);
    }

    private sealed record Closed(DateTimeOffset Until, TimeSpan RetryAfter, string Message);

    private sealed class NoLease : IDisposable
    {
        public static readonly NoLease Instance = new();

        public void Dispose()
        {
        }
    }
}

/// <summary>What <see cref="AdmissionGate.EnterAsync"/> answers: a place to dispose of when the submit ended, or the refusal.</summary>
public readonly record struct GatePass(IDisposable? Place, SubmitRefusal? Refusal);
