namespace MeshOs.Bench.Measurement;

/// <summary>
/// CPU used over a window, in cores (CPU seconds / wall seconds), by the server processes, by the bench itself, by
/// the PostgreSQL server (postmaster, its backends and the backends that exited meanwhile) and by the whole machine.
/// </summary>
public sealed class CpuMeter(IReadOnlyList<int> serverPids, int? postmasterPid)
{
    private Snapshot? _start;

    public void Start() => _start = Take();

    public CpuUsage Stop()
    {
        var start = _start ?? throw new InvalidOperationException("CpuMeter.Start was not called.");
        var end = Take();
        var seconds = (end.Wall - start.Wall).TotalSeconds;
        double Cores(double? a, double? b) => a is { } x && b is { } y && seconds > 0 ? (y - x) / seconds : double.NaN;
        var machineTotal = end.MachineTotal - start.MachineTotal;
        return new CpuUsage(
            Cores(start.Server, end.Server),
            Cores(start.Bench, end.Bench),
            Cores(start.Postgres, end.Postgres),
            machineTotal > 0 ? (end.MachineBusy - start.MachineBusy) / seconds : double.NaN,
            Environment.ProcessorCount);
    }

    private Snapshot Take()
    {
        double? server = 0;
        foreach (var pid in serverPids)
        {
            server = ProcFs.CpuSeconds(pid) is { } s && server is { } sum ? sum + s : null;
        }

        if (serverPids.Count == 0)
        {
            server = null;
        }

        double? postgres = null;
        if (postmasterPid is { } pm && ProcFs.CpuSeconds(pm, withReapedChildren: true) is { } own)
        {
            postgres = own + ProcFs.ChildrenOf(pm).Sum(child => ProcFs.CpuSeconds(child) ?? 0);
        }

        var (busy, total) = ProcFs.MachineCpu();
        return new Snapshot(DateTime.UtcNow, server, ProcFs.CpuSeconds(Environment.ProcessId), postgres, busy, total);
    }

    private sealed record Snapshot(DateTime Wall, double? Server, double? Bench, double? Postgres, double MachineBusy, double MachineTotal);
}

/// <summary>Cores used over a window; NaN where the process was not known (an external deployment).</summary>
public sealed record CpuUsage(double Server, double Bench, double Postgres, double Machine, int MachineCores)
{
    /// <summary>What the rest of the machine used meanwhile: anything above ~0.1 core disturbs the figures.</summary>
    public double Other => Machine - Server - Bench - (double.IsNaN(Postgres) ? 0 : Postgres);
}
