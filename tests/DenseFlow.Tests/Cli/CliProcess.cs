using System.Diagnostics;

namespace DenseFlow.Tests.Cli;

/// <summary>Runs `dotnet denseflow.dll …` as a child process, for what only a fresh process shows (start-up, native stderr).</summary>
public static class CliProcess
{
    /// <summary>Exit code, stdout and stderr; <paramref name="env"/> values set (null removes the variable).</summary>
    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "denseflow.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in env)
            if (value is null) psi.Environment.Remove(name); else psi.Environment[name] = value;
        using var child = Process.Start(psi)!;
        var err = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        return (child.ExitCode, stdout, err.Result);
    }
}
