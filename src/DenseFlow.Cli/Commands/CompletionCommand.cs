namespace DenseFlow.Cli.Commands;

/// <summary>
/// `denseflow completion bash|zsh`: a script that asks the tool itself for candidates through System.CommandLine's
/// <c>[suggest:POS]</c> directive, so completion always matches the installed commands, options and names.
/// </summary>
static class CompletionCommand
{
    static readonly Dictionary<string, string> Scripts = new()
    {
        ["bash"] = """
            # denseflow completion for bash: source <(denseflow completion bash)
            _denseflow_complete()
            {
                local IFS=$'\n'
                local candidates
                candidates=$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
                COMPREPLY=( $(compgen -W "${candidates}" -- "${COMP_WORDS[COMP_CWORD]}") )
            }
            complete -o bashdefault -o default -F _denseflow_complete denseflow
            """,
        ["zsh"] = """
            # denseflow completion for zsh: source <(denseflow completion zsh)
            _denseflow_complete()
            {
                local line="${(j: :)words}"
                local -a candidates
                candidates=("${(@f)$(${words[1]} "[suggest:${#${(j: :)words[1,CURRENT]}}]" "$line" 2>/dev/null)}")
                candidates=(${candidates:#})
                if (( ${#candidates} )); then compadd -Q -- "${candidates[@]}"; else _files; fi
            }
            (( $+functions[compdef] )) || { autoload -Uz compinit && compinit; }
            compdef _denseflow_complete denseflow
            """,
    };

    public static readonly Command Completion = new()
    {
        Name = "completion",
        Summary = "print a shell completion script (bash or zsh) for commands, options and dataset/preset names",
        Usage = "denseflow completion (bash | zsh)",
        Examples = "source <(denseflow completion bash)    # this shell; add the line to ~/.bashrc to keep it\n"
                 + "source <(denseflow completion zsh)     # zsh; add the line to ~/.zshrc to keep it",
        Positional = "SHELL",
        PositionalCompletions = () => Scripts.Keys,
        Run = Run,
    };

    static int Run(Args a)
    {
        string shell = a.Positional ?? throw a.Error($"the SHELL argument is required ({string.Join(" or ", Scripts.Keys)})");
        if (!Scripts.TryGetValue(shell, out var script)) throw a.Error($"unknown shell '{shell}' (expected {string.Join(" or ", Scripts.Keys)})");
        Console.WriteLine(script);
        return 0;
    }
}
