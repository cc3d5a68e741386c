using System.Runtime.InteropServices;
using MeshOs.Bench.Measurement;
using Npgsql;

namespace MeshOs.Bench.Reporting;

/// <summary>What the figures were measured on.</summary>
public sealed record MachineInfo(
    int Cores,
    string CpuModel,
    double MemoryGiB,
    string Os,
    string Kernel,
    string DotNet,
    string? PostgresVersion,
    string? SynchronousCommit,
    string? Fsync)
{
    private static (string? Version, string? SynchronousCommit, string? Fsync) _postgres;

    /// <summary>Remembers the PostgreSQL server's version and durability settings while a run has it up.</summary>
    public static async Task NotePostgresAsync(string connectionString)
    {
        if (_postgres.Version is not null)
        {
            return;
        }

        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            _postgres = (await ShowAsync(connection, "server_version"), await ShowAsync(connection, "synchronous_commit"), await ShowAsync(connection, "fsync"));
        }
        catch (NpgsqlException)
        {
            // Described as unknown.
        }
    }

    /// <summary>This machine, and the PostgreSQL server a run noted (if any).</summary>
    public static MachineInfo Describe() => new(
        Environment.ProcessorCount,
        ReadCpuModel(),
        Math.Round(ProcFs.MemTotalBytes() / (1024.0 * 1024 * 1024), 1),
        ReadOsName(),
        ReadKernel(),
        RuntimeInformation.FrameworkDescription,
        _postgres.Version,
        _postgres.SynchronousCommit,
        _postgres.Fsync);

    public override string ToString() =>
        $"{Cores} cores ({CpuModel}), {MemoryGiB} GiB, {Os}, {DotNet}" +
        (PostgresVersion is null ? string.Empty : $", PostgreSQL {PostgresVersion} (synchronous_commit={SynchronousCommit}, fsync={Fsync})");

    private static async Task<string?> ShowAsync(NpgsqlConnection connection, string setting)
    {
        await using var command = new NpgsqlCommand($"SHOW {setting}", connection);
        return (await command.ExecuteScalarAsync())?.ToString();
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string ReadKernel()
    {
        try
        {
            return "Linux " + File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return RuntimeInformation.OSDescription;
        }
    }

    private static string ReadOsName()
    {
        try
        {
            var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            return line?.Split('=', 2)[1].Trim('"') ?? RuntimeInformation.OSDescription;
        }
        catch (IOException)
        {
            return RuntimeInformation.OSDescription;
        }
    }
}
