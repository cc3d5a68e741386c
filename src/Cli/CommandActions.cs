using System.CommandLine;
using MeshOs.Cli.Connection;

namespace MeshOs.Cli;

/// <summary>Running a command: its context, and failures turned into a message on stderr and an exit code.</summary>
public static class CommandActions
{
    public static Command WithAction(this Command command, Func<CliContext, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                using var context = CliContext.Create(parse);
                return await action(context, ct);
            }
            catch (ApiException ex)
            {
                await Console.Error.WriteLineAsync(ex.Describe());
                return ex.ExitCode;
            }
            catch (CliException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return ex.ExitCode;
            }
        });
        return command;
    }

    /// <summary>Adds options and arguments in one expression.</summary>
    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Command sub:
                    command.Subcommands.Add(sub);
                    break;
            }
        }

        return command;
    }
}
