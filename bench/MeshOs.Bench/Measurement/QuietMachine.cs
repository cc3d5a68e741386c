namespace MeshOs.Bench.Measurement;

/// <summary>
/// The bench shares the machine with whatever else runs on it. Before a run it waits (up to a limit) for the machine
/// to be quiet, and says how busy it was, so that figures taken on a busy machine are not mistaken for clean ones.
/// </summary>
public static class QuietMachine
{
    /// <summary>Cores busy over one second.</summary>
    public static async Task<double> BusyCoresAsync()
    {
        var (busy0, _) = ProcFs.MachineCpu();
        var start = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var (busy1, _) = ProcFs.MachineCpu();
        return (busy1 - busy0) / (DateTime.UtcNow - start).TotalSeconds;
    }

    /// <summary>Waits until the machine uses at most <paramref name="threshold"/> cores, for up to <paramref name="limit"/>; returns the last reading.</summary>
    public static async Task<double> WaitAsync(TimeSpan limit, double threshold = 0.15)
    {
        var deadline = DateTime.UtcNow + limit;
        double busy;
        do
        {
            busy = await BusyCoresAsync();
        }
        while (busy > threshold && DateTime.UtcNow < deadline);

        return busy;
    }
}
