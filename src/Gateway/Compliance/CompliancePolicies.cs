using System.Collections.Immutable;
using System.Threading.Channels;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Compliance;

/// <summary>How the gateway reads policies and reports checks. Section <c>MeshOs:Compliance</c>.</summary>
public sealed class GatewayComplianceOptions
{
    public const string Section = "MeshOs:Compliance";

    /// <summary>
    /// How long this gateway uses the policies it read from the auditor before reading them again. A policy changed
    /// through this gateway applies here at once, elsewhere within this time. Default 2 s.
    /// </summary>
    public TimeSpan PolicyCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a read of the policies may take before the check is refused as Unavailable. Default 5 s.</summary>
    public TimeSpan PolicyReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks waiting to be reported at most; past it the oldest are dropped (the periodic scan makes them again). Default 10,000.</summary>
    public int MaxPendingReports { get; set; } = 10_000;

    /// <summary>
    /// How long the dispatcher holds back a job that none of its agents with room may lease under the residency and
    /// classification policies before the job's queue offers it again (to this or another gateway). Longer: less work
    /// for such a job; shorter: a compliant agent that connects or frees a slot gets it sooner. At most
    /// <c>MeshOs:Dispatch:MaxHoldBack</c>. Default 1 s.
    /// </summary>
    public TimeSpan LeaseHoldBack { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The same outcome of the same lease check (policy, tenant, agent) is reported at most once in this time; a
    /// changed outcome is reported at once. Default 1 min.
    /// </summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// The policies in force as this gateway knows them: read from <see cref="IComplianceGrain"/> at most once per
/// <see cref="GatewayComplianceOptions.PolicyCacheDuration"/>, one read at a time. When the auditor cannot be reached
/// the last set read is used; with none read yet the check cannot be made and the caller gets Unavailable (an
/// enforcing check never lets an action through because the policies were unknown).
/// </summary>
public sealed class CompliancePolicies(IGrainFactory grains, IOptions<GatewayComplianceOptions> options, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _reading = new(1, 1);
    private volatile Cached? _cached;

    public async ValueTask<PolicySet> GetAsync(CancellationToken cancellationToken = default)
    {
        var cached = _cached;
        if (cached is not null && cached.ReadAt + options.Value.PolicyCacheDuration > time.GetUtcNow())
        {
            return cached.Set;
        }

        await _reading.WaitAsync(cancellationToken);
        try
        {
            cached = _cached;
            if (cached is not null && cached.ReadAt + options.Value.PolicyCacheDuration > time.GetUtcNow())
            {
                return cached.Set;
            }

            var readAt = time.GetUtcNow();
            try
            {
                var set = await grains.GetGrain<IComplianceGrain>(0).GetPoliciesAsync().WaitAsync(options.Value.PolicyReadTimeout, time, cancellationToken);
                _cached = new Cached(set, readAt);
                return set;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (cached is not null)
                {
                    return cached.Set;
                }

                throw new MeshException("The compliance policies cannot be read now, so the action cannot be checked; retry.", ex) { Code = MeshErrorCode.Unavailable };
            }
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>Forgets the policies read (after a change through this gateway): the next check reads them again.</summary>
    public void Invalidate() => _cached = null;

    public void Dispose() => _reading.Dispose();

    private sealed record Cached(PolicySet Set, DateTimeOffset ReadAt);
}

/// <summary>
/// Sends the checks this gateway makes (at submit, at lease, at the operator gate) to the auditor in batches, off the
/// callers' paths: <see cref="Report"/> never waits. Bounded: past <see cref="GatewayComplianceOptions.MaxPendingReports"/>
/// the oldest waiting checks are dropped.
/// </summary>
public sealed class ComplianceReports(IGrainFactory grains, IOptions<GatewayComplianceOptions> options, ILogger<ComplianceReports> logger) : BackgroundService
{
    private const int BatchSize = 500;

    private readonly Channel<CheckResult> _pending = Channel.CreateBounded<CheckResult>(
        new BoundedChannelOptions(Math.Max(1, options.Value.MaxPendingReports)) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    public void Report(CheckResult check) => _pending.Writer.TryWrite(check);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CheckResult>(BatchSize);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < BatchSize && _pending.Reader.TryRead(out var check))
                {
                    batch.Add(check);
                }

                try
                {
                    await grains.GetGrain<IComplianceGrain>(0).ReportAsync([.. batch]);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "{Count} compliance checks could not be reported; the auditor's next scan makes them again.", batch.Count);
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
