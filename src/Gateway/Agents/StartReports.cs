using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Agents;

/// <summary>Settings of agent streams on the gateway. Section <c>MeshOs:Gateway</c>.</summary>
public sealed class GatewayAgentOptions
{
    public const string Section = "MeshOs:Gateway";

    /// <summary>
    /// How long a streamed agent's start report is held before it goes to the job. Most jobs finish sooner: their
    /// result then carries the start time and the job is called once per attempt instead of twice. Until the start is
    /// sent the job shows Leased rather than Running. Zero sends every start at once. Default 250 ms.
    /// </summary>
    public TimeSpan StartReportDelay { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The gateway's clock for held start reports (<see cref="GatewayAgentOptions.StartReportDelay"/>): streams hold their
/// own starts, this sends on each one still held when its delay has passed. The delay is the same for all, so the
/// queue is in deadline order and one sweep a quarter-delay apart is enough.
/// </summary>
public sealed class StartReports(IOptions<GatewayAgentOptions> options, TimeProvider time) : BackgroundService
{
    private readonly ConcurrentQueue<HeldStart> _held = new();

    public TimeSpan Delay { get; } = options.Value.StartReportDelay < TimeSpan.Zero ? TimeSpan.Zero : options.Value.StartReportDelay;

    public TimeProvider Time => time;

    internal void Hold(AgentStreamReports stream, Guid jobId, long epoch) =>
        _held.Enqueue(new HeldStart(time.GetUtcNow() + Delay, stream, jobId, epoch));

    /// <summary>Sends on every start whose delay has passed (called by the sweep; tests call it with a fake clock).</summary>
    public void SendDue()
    {
        var now = time.GetUtcNow();
        while (_held.TryPeek(out var next) && next.Due <= now && _held.TryDequeue(out next))
        {
            next.Stream.SendHeldStart(next.JobId, next.Epoch);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Delay <= TimeSpan.Zero)
        {
            return;
        }

        using var sweep = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(Delay.Ticks / 4, TimeSpan.TicksPerMillisecond * 5)), time);
        try
        {
            while (await sweep.WaitForNextTickAsync(stoppingToken))
            {
                SendDue();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private readonly record struct HeldStart(DateTimeOffset Due, AgentStreamReports Stream, Guid JobId, long Epoch);
}
