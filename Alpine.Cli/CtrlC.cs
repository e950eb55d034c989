using System.Runtime.InteropServices;

namespace Alpine.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a <see cref="CancellationToken"/>: while <c>work</c> runs, either signal cancels
/// the token instead of killing the process, so the work stops at its next check (training writes its
/// checkpoint there) and its temporary output (written to a temp folder or file, then renamed) is removed on the
/// way out. <see cref="Program.Run"/> turns the cancellation into <see cref="ExitCode"/>: 130 after SIGINT,
/// 143 after SIGTERM, the shell's 128 + signal number.
/// </summary>
internal static class CtrlC
{
    private static volatile int _exitCode = 130;

    /// <summary>The exit code of a run a signal stopped.</summary>
    public static int ExitCode => _exitCode;

    public static T Run<T>(Func<CancellationToken, T> work)
    {
        using var cts = new CancellationTokenSource();
        void Stop(PosixSignalContext c, int code)
        {
            c.Cancel = true;
            _exitCode = code;
            cts.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, 130));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, 143));
        return work(cts.Token);
    }
}
