using System.CommandLine;
using MeshOs.Cli.Connection;

namespace MeshOs.Cli.Config;

/// <summary><c>config show</c> (the settings in effect and where each came from) and <c>config set</c> (write the file).</summary>
public sealed class ConfigCommands : ICommandGroup
{
    public IEnumerable<Command> Create()
    {
        var config = new Command("config", "The settings meshctl runs with (url, key, output) and its config file.");
        config.Subcommands.Add(new Command("show", "The settings in effect, where each comes from (flag, environment, file, default); the key masked.")
            .WithAction((context, _) =>
            {
                var settings = context.Settings;
                context.Out.WriteLine($"config file  {settings.ConfigPath}{(File.Exists(settings.ConfigPath) ? "" : " (absent)")}");
                context.Out.WriteLine($"url          {settings.Url.Value}  ({settings.Url.Source})");
                context.Out.WriteLine($"key          {Mask(settings.Key.Value)}  ({settings.Key.Source})");
                context.Out.WriteLine($"output       {settings.Output.Value}  ({settings.Output.Source})");
                return Task.FromResult(ExitCodes.Ok);
            }));

        var name = new Argument<string>("name") { Description = "url, key or output." };
        name.AcceptOnlyFromAmong("url", "key", "output");
        var value = new Argument<string?>("value") { Description = "The value; none removes the setting.", Arity = ArgumentArity.ZeroOrOne };
        config.Subcommands.Add(new Command("set", "Write one setting to the config file (created readable by you only).").With(name, value)
            .WithAction((context, _) =>
            {
                var path = context.Settings.ConfigPath;
                var file = ConfigFile.Read(path, mustExist: false);
                var given = context.Value(value);
                if (context.Value(name) == "output" && given is not (null or "table" or "json"))
                {
                    throw new CliException(ExitCodes.Usage, $"output: '{given}' is not one of table, json.");
                }

                file = context.Value(name) switch
                {
                    "url" => file with { Url = given },
                    "key" => file with { Key = given },
                    _ => file with { Output = given },
                };
                file.Write(path);
                context.Error.WriteLine($"{context.Value(name)} {(given is null ? "removed from" : "written to")} {path}.");
                return Task.FromResult(ExitCodes.Ok);
            }));
        yield return config;
    }

    private static string Mask(string? key) => key switch
    {
        null => "(none)",
        { Length: <= 8 } => "****",
        _ => key[..6] + "…" + key[^4..],
    };
}
