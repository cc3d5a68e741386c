using System.Diagnostics;
using MeshOs.Tests.Cli.Support;

namespace MeshOs.Tests.Cli.EndToEnd;

/// <summary><c>meshctl completion bash</c> sourced in a real bash, completing with the built meshctl on PATH.</summary>
public sealed class CompletionTests
{
    [Theory]
    [InlineData("meshctl inc", "incidents")]
    [InlineData("meshctl jobs l", "list")]
    [InlineData("meshctl jobs list --status ", "Cancelled DeadLettered Failed Leased Pending Running Succeeded TimedOut")]
    [InlineData("meshctl incidents list --severity P", "P0 P1 P2 P3")]
    public async Task The_bash_script_completes_commands_and_option_values(string line, string expected)
    {
        var words = line.Split(' ');
        var script = $"""
            source <(meshctl completion bash)
            COMP_LINE='{line}'; COMP_POINT=${"{#COMP_LINE}"}
            COMP_WORDS=({string.Join(' ', words.Select(w => $"'{w}'"))}); COMP_CWORD={words.Length - 1}
            _meshctl_complete
            echo "${"{COMPREPLY[@]}"}"
            """;
        var start = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["PATH"] = Path.GetDirectoryName(Meshctl.Dll) + ":" + Environment.GetEnvironmentVariable("PATH");

        using var bash = Process.Start(start)!;
        var output = bash.StandardOutput.ReadToEndAsync();
        var error = bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync();

        Assert.True(bash.ExitCode == 0, await error);
        Assert.Equal(expected, (await output).Trim());
    }
}
