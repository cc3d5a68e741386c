using System.Globalization;

namespace MeshOs.Bench.Measurement;

/// <summary>Reads CPU time and memory of processes and of the machine from Linux's /proc.</summary>
public static class ProcFs
{
    /// <summary>USER_HZ: the unit of the CPU times in /proc/[pid]/stat and /proc/stat (100 on every Linux x86 build).</summary>
    public const double TicksPerSecond = 100;

    /// <summary>CPU seconds (user + system) the process has used; with <paramref name="withReapedChildren"/> also its waited-for children's.</summary>
    public static double? CpuSeconds(int pid, bool withReapedChildren = false)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return null;
        }

        // Fields after the command's closing parenthesis, numbered from 3 (state) as in proc(5): utime 14, stime 15, cutime 16, cstime 17.
        var ticks = Long(fields, 14) + Long(fields, 15);
        if (withReapedChildren)
        {
            ticks += Long(fields, 16) + Long(fields, 17);
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>The parent process id, or null when the process is gone.</summary>
    public static int? ParentOf(int pid) => StatFields(pid) is { } fields ? (int)Long(fields, 4) : null;

    /// <summary>Peak resident memory (VmHWM) in bytes.</summary>
    public static long? PeakRssBytes(int pid) => StatusKb(pid, "VmHWM:") * 1024;

    /// <summary>Current resident memory (VmRSS) in bytes.</summary>
    public static long? RssBytes(int pid) => StatusKb(pid, "VmRSS:") * 1024;

    /// <summary>Ids of the processes whose parent is <paramref name="parent"/>.</summary>
    public static IReadOnlyList<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ParentOf(pid) == parent)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    /// <summary>The machine's CPU counters from /proc/stat: (busy, total) in seconds summed over cores.</summary>
    public static (double Busy, double Total) MachineCpu()
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();

        // user nice system idle iowait irq softirq steal (guest times are already inside user and nice).
        var total = values.Take(8).Sum();
        var idle = values[3] + values[4];
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }

    public static long MemTotalBytes() => MemInfoKb("MemTotal:") * 1024;

    private static string[]? StatFields(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        var close = text.LastIndexOf(')');
        return close < 0 ? null : text[(close + 2)..].Split(' ');
    }

    // proc(5) numbers fields from 1 (pid) and 2 (comm); the array starts at field 3.
    private static long Long(string[] fields, int field) => long.Parse(fields[field - 3], CultureInfo.InvariantCulture);

    private static long? StatusKb(int pid, string key)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            return line is null ? null : long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static long MemInfoKb(string key)
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith(key, StringComparison.Ordinal));
        return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
