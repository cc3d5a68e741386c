using System.CommandLine;

namespace MeshOs.Cli.Completion;

/// <summary>
/// <c>completion bash|zsh</c>: a script that completes meshctl's commands, options and option values by asking
/// meshctl itself (System.CommandLine's <c>[suggest:position]</c> directive), so it never falls out of date.
/// </summary>
public sealed class CompletionCommands : ICommandGroup
{
    private const string Bash = """
        # meshctl completion for bash: source <(meshctl completion bash)
        _meshctl_complete() {
            local IFS=$'\n' word="${COMP_WORDS[COMP_CWORD]}"
            COMPREPLY=($(compgen -W "$(meshctl "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${word}"))
        }
        complete -o default -F _meshctl_complete meshctl
        """;

    private const string Zsh = """
        #compdef meshctl
        # meshctl completion for zsh: source <(meshctl completion zsh)
        _meshctl() {
            local -a candidates
            candidates=("${(@f)$(meshctl "[suggest:${#${BUFFER[1,CURSOR]}}]" "${BUFFER}" 2>/dev/null)}")
            compadd -- "${candidates[@]}"
        }
        compdef _meshctl meshctl
        """;

    public IEnumerable<Command> Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh." };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script: source <(meshctl completion bash) (or zsh) in your shell's rc file.");
        command.Arguments.Add(shell);
        command.SetAction(parse =>
        {
            Console.Out.WriteLine(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        yield return command;
    }
}
