using MeshOs.Tests.Cli.Support;

namespace MeshOs.Tests.Cli.EndToEnd;

/// <summary>config set and config show in a private home folder (no server needed).</summary>
public sealed class ConfigCommandTests : IDisposable
{
    private readonly Meshctl _cli = new();

    [Fact]
    public async Task Config_set_writes_the_file_under_XDG_CONFIG_HOME_and_show_says_where_each_setting_came_from()
    {
        var setUrl = await _cli.RunAsync("config", "set", "url", "http://mesh.example:9000");
        var setKey = await _cli.RunAsync("config", "set", "key", "mk.acme.0123456789ab.secret-part");
        var badOutput = await _cli.RunAsync("config", "set", "output", "xml");
        var shown = await _cli.With(new Dictionary<string, string> { ["MESHCTL_OUTPUT"] = "json" }).RunAsync("config", "show");

        var file = Path.Combine(_cli.Home, ".config", "meshctl", "config.json");
        Assert.True(setUrl.ExitCode == 0, setUrl.ToString());
        Assert.True(setKey.ExitCode == 0, setKey.ToString());
        Assert.True(badOutput.ExitCode == 1, badOutput.ToString());
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Equal(
            [
                $"config file  {file}",
                $"url          http://mesh.example:9000  (config file {file})",
                $"key          mk.acm…part  (config file {file})",
                "output       json  (MESHCTL_OUTPUT)",
            ],
            shown.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    public void Dispose() => _cli.Dispose();
}
