using System.CommandLine;
using System.Reflection;

namespace MeshOs.Cli;

/// <summary>
/// A set of meshctl commands, usually one feature's (<c>jobs …</c>, <c>health</c> and <c>status</c>). The root command
/// finds every group in this assembly, so adding a group is adding one file with one class.
/// </summary>
public interface ICommandGroup
{
    IEnumerable<Command> Create();
}

/// <summary>meshctl's root command: the global options and every <see cref="ICommandGroup"/>'s commands.</summary>
public static class MeshCtl
{
    /// <summary>
    /// Parses a command line. Response files are off: <c>@file</c> is meshctl's own syntax (<c>jobs submit --payload
    /// @job.json</c>), not a file of more arguments.
    /// </summary>
    public static ParseResult Parse(IReadOnlyList<string> args) =>
        CreateRootCommand().Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });

    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand(
            "meshctl: operate MeshOs and submit work over its public REST API.\n"
            + "Settings: --url/--key, else MESHCTL_URL/MESHCTL_KEY, else ~/.config/meshctl/config.json (--config, MESHCTL_CONFIG).\n"
            + "Exit codes: 0 ok, 1 usage/invalid, 2 not found, 3 unauthenticated/forbidden, 4 conflict/refused, 5 server error/unreachable, 6 check failed.");
        foreach (var option in GlobalOptions.All)
        {
            root.Options.Add(option);
        }

        var groups = typeof(MeshCtl).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.IsAssignableTo(typeof(ICommandGroup)))
            .Select(t => (ICommandGroup)Activator.CreateInstance(t)!);
        foreach (var command in groups.SelectMany(g => g.Create()).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>meshctl's version (the repository's Directory.Build.props version).</summary>
    public static string Version => typeof(MeshCtl).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
