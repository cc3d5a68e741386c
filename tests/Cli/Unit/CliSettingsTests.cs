using MeshOs.Cli;
using MeshOs.Cli.Connection;

namespace MeshOs.Tests.Cli.Unit;

/// <summary>Where url, key and output come from: the flag, else the environment, else the config file, else the default.</summary>
public sealed class CliSettingsTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("meshctl-settings-").FullName;
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    private string DefaultConfig => Path.Combine(_home, ".config", "meshctl", "config.json");

    [Fact]
    public void With_nothing_set_the_url_is_the_readmes_default_address_and_there_is_no_key()
    {
        var settings = Resolve();

        Assert.Equal(new Setting("http://localhost:8080", "default"), settings.Url);
        Assert.Equal(new Setting(null, "none"), settings.Key);
        Assert.Equal(OutputFormat.Table, settings.Format);
        Assert.Equal(DefaultConfig, settings.ConfigPath);
    }

    [Fact]
    public void The_flag_wins_over_the_environment_which_wins_over_the_file()
    {
        WriteConfig(DefaultConfig, """{"url": "http://file:1", "key": "file-key", "output": "json"}""");
        _environment["MESHCTL_URL"] = "http://env:2";
        _environment["MESHCTL_KEY"] = "env-key";

        var flags = Resolve(url: "http://flag:3", key: "flag-key", output: "table");
        var environment = Resolve();
        _environment.Clear();
        var file = Resolve();

        Assert.Equal(new Setting("http://flag:3", "--url"), flags.Url);
        Assert.Equal(new Setting("flag-key", "--key"), flags.Key);
        Assert.Equal(OutputFormat.Table, flags.Format);
        Assert.Equal(new Setting("http://env:2", "MESHCTL_URL"), environment.Url);
        Assert.Equal(new Setting("env-key", "MESHCTL_KEY"), environment.Key);
        Assert.Equal(OutputFormat.Json, environment.Format);
        Assert.Equal(new Setting("http://file:1", $"config file {DefaultConfig}"), file.Url);
        Assert.Equal(new Setting("file-key", $"config file {DefaultConfig}"), file.Key);
    }

    [Fact]
    public void Each_setting_falls_through_on_its_own_and_blank_values_count_as_unset()
    {
        WriteConfig(DefaultConfig, """{"key": "file-key"}""");
        _environment["MESHCTL_URL"] = "http://env:2";
        _environment["MESHCTL_KEY"] = "  ";

        var settings = Resolve(key: "");

        Assert.Equal("http://env:2", settings.Url.Value);
        Assert.Equal("file-key", settings.Key.Value);
    }

    [Fact]
    public void The_config_file_is_the_flag_else_MESHCTL_CONFIG_else_under_XDG_CONFIG_HOME()
    {
        var fromFlag = Path.Combine(_home, "flag.json");
        var fromVariable = Path.Combine(_home, "variable.json");
        var xdg = Path.Combine(_home, "xdg");
        WriteConfig(fromFlag, """{"url": "http://flag-file:1"}""");
        WriteConfig(fromVariable, """{"url": "http://variable-file:1"}""");
        WriteConfig(Path.Combine(xdg, "meshctl", "config.json"), """{"url": "http://xdg-file:1"}""");
        _environment["XDG_CONFIG_HOME"] = xdg;
        _environment["MESHCTL_CONFIG"] = fromVariable;

        Assert.Equal("http://flag-file:1", Resolve(config: fromFlag).Url.Value);
        Assert.Equal("http://variable-file:1", Resolve().Url.Value);
        _environment.Remove("MESHCTL_CONFIG");
        Assert.Equal("http://xdg-file:1", Resolve().Url.Value);
    }

    [Fact]
    public void A_config_file_named_explicitly_must_exist_and_any_file_must_be_json()
    {
        var missing = Path.Combine(_home, "missing.json");
        var broken = Path.Combine(_home, "broken.json");
        WriteConfig(broken, "{url:");

        var notThere = Assert.Throws<CliException>(() => Resolve(config: missing));
        var notJson = Assert.Throws<CliException>(() => Resolve(config: broken));

        Assert.Equal(ExitCodes.Usage, notThere.ExitCode);
        Assert.Equal($"config file {missing} does not exist.", notThere.Message);
        Assert.Equal(ExitCodes.Usage, notJson.ExitCode);
        Assert.StartsWith($"config file {broken} is not valid JSON", notJson.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:8080")]
    [InlineData("ftp://host/")]
    public void A_url_that_is_not_http_is_a_usage_error_naming_where_it_came_from(string url)
    {
        _environment["MESHCTL_URL"] = url;

        var error = Assert.Throws<CliException>(() => Resolve().BaseUrl);

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Equal($"url: '{url}' (MESHCTL_URL) is not an http:// or https:// address.", error.Message);
    }

    [Fact]
    public void A_written_config_file_reads_back_and_only_its_owner_may_read_it()
    {
        var path = Path.Combine(_home, "new", "config.json");

        new ConfigFile("http://written:9", "secret", null).Write(path);

        Assert.Equal(new ConfigFile("http://written:9", "secret", null), ConfigFile.Read(path, mustExist: true));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private CliSettings Resolve(string? url = null, string? key = null, string? output = null, string? config = null) =>
        CliSettings.Resolve(url, key, output, config, name => _environment.GetValueOrDefault(name), _home);

    private static void WriteConfig(string path, string json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
    }
}
