using System.Text.Json;

namespace MeshOs.Cli.Connection;

/// <summary>Human tables, or the server's JSON unchanged (for <c>jq</c>).</summary>
public enum OutputFormat
{
    Table,
    Json,
}

/// <summary>One resolved setting and where it came from (shown by <c>meshctl config show</c>).</summary>
public sealed record Setting(string? Value, string Source);

/// <summary>The settings a command runs with, each taken from the first place that has it.</summary>
public sealed record CliSettings(Setting Url, Setting Key, Setting Output, string ConfigPath)
{
    /// <summary>The README's default gateway address (<c>dotnet run --project src/Silo</c>).</summary>
    public const string DefaultUrl = "http://localhost:8080";

    public const string UrlVariable = "MESHCTL_URL";
    public const string KeyVariable = "MESHCTL_KEY";
    public const string OutputVariable = "MESHCTL_OUTPUT";
    public const string ConfigVariable = "MESHCTL_CONFIG";

    public Uri BaseUrl => Uri.TryCreate(Url.Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        ? uri
        : throw new CliException(ExitCodes.Usage, $"url: '{Url.Value}' ({Url.Source}) is not an http:// or https:// address.");

    public OutputFormat Format => Output.Value?.ToLowerInvariant() switch
    {
        null or "table" => OutputFormat.Table,
        "json" => OutputFormat.Json,
        _ => throw new CliException(ExitCodes.Usage, $"output: '{Output.Value}' ({Output.Source}) is not one of table, json."),
    };

    /// <summary>
    /// Resolves each setting: the flag, else the environment variable, else the config file, else the default. The
    /// config file is <paramref name="configFlag"/>, else <c>MESHCTL_CONFIG</c>, else
    /// <c>$XDG_CONFIG_HOME/meshctl/config.json</c> (<c>~/.config/meshctl/config.json</c>); a file named explicitly
    /// must exist, the default one may be absent.
    /// </summary>
    public static CliSettings Resolve(string? urlFlag, string? keyFlag, string? outputFlag, string? configFlag,
        Func<string, string?> environment, string homeDirectory)
    {
        var explicitConfig = NonEmpty(configFlag) ?? NonEmpty(environment(ConfigVariable));
        var configPath = explicitConfig ?? DefaultConfigPath(environment, homeDirectory);
        var file = ConfigFile.Read(configPath, mustExist: explicitConfig is not null);
        var fileSource = $"config file {configPath}";
        return new CliSettings(
            Pick(urlFlag, "--url", environment, UrlVariable, file.Url, fileSource) ?? new Setting(DefaultUrl, "default"),
            Pick(keyFlag, "--key", environment, KeyVariable, file.Key, fileSource) ?? new Setting(null, "none"),
            Pick(outputFlag, "--output", environment, OutputVariable, file.Output, fileSource) ?? new Setting("table", "default"),
            configPath);
    }

    public static string DefaultConfigPath(Func<string, string?> environment, string homeDirectory) =>
        Path.Combine(NonEmpty(environment("XDG_CONFIG_HOME")) ?? Path.Combine(homeDirectory, ".config"), "meshctl", "config.json");

    private static Setting? Pick(string? flag, string flagName, Func<string, string?> environment, string variable, string? fromFile, string fileSource) =>
        NonEmpty(flag) is { } f ? new Setting(f, flagName)
        : NonEmpty(environment(variable)) is { } e ? new Setting(e, variable)
        : NonEmpty(fromFile) is { } c ? new Setting(c, fileSource)
        : null;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>The config file: <c>{"url": "…", "key": "…", "output": "table|json"}</c>, every field optional.</summary>
public sealed record ConfigFile(string? Url, string? Key, string? Output)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static ConfigFile Read(string path, bool mustExist)
    {
        if (!File.Exists(path))
        {
            return mustExist ? throw new CliException(ExitCodes.Usage, $"config file {path} does not exist.") : new ConfigFile(null, null, null);
        }

        try
        {
            return JsonSerializer.Deserialize<ConfigFile>(File.ReadAllText(path), Options) ?? new ConfigFile(null, null, null);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Usage, $"config file {path} is not valid JSON ({ex.Message}).");
        }
    }

    /// <summary>Writes the file readable by its owner only on Unix (it may hold a key).</summary>
    public void Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Options) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
