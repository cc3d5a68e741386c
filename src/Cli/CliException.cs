namespace MeshOs.Cli;

/// <summary>A failure meshctl reports as one message on stderr and an exit code (see <see cref="ExitCodes"/>).</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
