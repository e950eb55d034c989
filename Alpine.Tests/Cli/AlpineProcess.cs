using System.Diagnostics;

namespace Alpine.Tests.Cli;

/// <summary><c>alpine</c> as a user runs it: a separate process with its output piped, as a script would see it.</summary>
public static class AlpineProcess
{
    public static Process Start(params string[] args)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "alpine.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        // As from a terminal: Ctrl-C reaches the child even when this test run is a background job.
        return Posix.StartWithDefaultSigInt(() => Process.Start(psi)!);
    }

    /// <summary>Runs to the end (at most <paramref name="timeoutSeconds"/>); the exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(string[] args, int timeoutSeconds = 120)
    {
        using var p = Start(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(entireProcessTree: true); Assert.Fail($"alpine {string.Join(' ', args)} ran past {timeoutSeconds} s"); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
