using System.CommandLine;

namespace MeshOs.Cli;

/// <summary>The options every command takes (they may come before or after the command's name).</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Url = new("--url")
    {
        Description = "The gateway's REST address (else MESHCTL_URL, the config file, http://localhost:8080).",
        Recursive = true,
    };

    public static readonly Option<string?> Key = new("--key")
    {
        Description = "The API key: a tenant's or an operator's (else MESHCTL_KEY, the config file).",
        Recursive = true,
    };

    public static readonly Option<string?> Output = new("--output", "-o")
    {
        Description = "table (default) or json: the server's JSON unchanged, for jq (else MESHCTL_OUTPUT, the config file).",
        Recursive = true,
    };

    public static readonly Option<string?> Config = new("--config")
    {
        Description = "The config file (else MESHCTL_CONFIG, else ~/.config/meshctl/config.json).",
        Recursive = true,
    };

    public static readonly Option<string?> Otp = new("--otp")
    {
        Description = "The operator key's current TOTP code (X-MeshOs-Otp), where the production-mfa policy enforces a second factor.",
        Recursive = true,
    };

    public static readonly Option<int> Timeout = new("--timeout")
    {
        Description = "Seconds to wait for an answer (not for jobs watch, which follows the job until it ends).",
        DefaultValueFactory = _ => 30,
        Recursive = true,
    };

    public static IReadOnlyList<Option> All { get; } = [Url, Key, Output, Config, Otp, Timeout];

    static GlobalOptions()
    {
        Output.AcceptOnlyFromAmong("table", "json");
        Timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 3600)
            {
                result.AddError("--timeout: 1 to 3600 seconds.");
            }
        });
    }
}
