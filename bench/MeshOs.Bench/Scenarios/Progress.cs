using System.Diagnostics;

namespace MeshOs.Bench.Scenarios;

/// <summary>Progress lines on the console, with the time since the command started.</summary>
public static class Progress
{
    private static readonly Stopwatch Since = Stopwatch.StartNew();

    public static void Say(string message) => Console.WriteLine($"[{Since.Elapsed.TotalSeconds,6:0.0}s] {message}");
}
