namespace Alpine.Cli;

/// <summary>
/// Ctrl-C as a <see cref="CancellationToken"/>: while <c>work</c> runs, Ctrl-C cancels the token instead of killing
/// the process, so the work stops at its next check and its temporary output (written to a temp folder or file,
/// then renamed) is removed on the way out. <see cref="Program.Run"/> turns the cancellation into exit code 130.
/// </summary>
internal static class CtrlC
{
    /// <summary>The exit code of a run that Ctrl-C stopped.</summary>
    public static int ExitCode => 130;

    public static T Run<T>(Func<CancellationToken, T> work)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try { return work(cts.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
