using System.Runtime.InteropServices;

namespace Alpine.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a <see cref="CancellationToken"/>, for the whole of a command
/// (<see cref="Listen"/>): the first signal cancels the token instead of killing the process, so the work stops at
/// its next check (training writes its checkpoint there; a signal during setup stops it at its first check) and
/// its temporary output (a temp folder or file, then renamed) is removed on the way out. A second signal ends the
/// process at once. <see cref="Program.Run"/> turns the cancellation into <see cref="ExitCode"/>: 130 after
/// SIGINT, 143 after SIGTERM, the shell's 128 + signal number.
/// </summary>
internal static class CtrlC
{
    private static CancellationTokenSource _cts = new();
    private static volatile int _exitCode = 130;

    /// <summary>The exit code of a run a signal stopped.</summary>
    public static int ExitCode => _exitCode;

    /// <summary>Handles the two signals until disposed, with a fresh token.</summary>
    public static IDisposable Listen()
    {
        var cts = _cts = new CancellationTokenSource();
        _exitCode = 130;
        void Stop(PosixSignalContext c, int code)
        {
            if (cts.IsCancellationRequested) return; // the second: the default, the process ends now
            c.Cancel = true;
            _exitCode = code;
            // Setup (building a large model, loading data) can take minutes before the next check.
            Console.Error.WriteLine("alpine: stopping at the next safe point (a second signal stops at once)");
            cts.Cancel();
        }
        var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, 130));
        var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, 143));
        return new Registrations(sigint, sigterm, cts);
    }

    /// <summary>Runs <paramref name="work"/> with the command's token (<see cref="Listen"/>).</summary>
    public static T Run<T>(Func<CancellationToken, T> work) => work(_cts.Token);

    private sealed class Registrations(PosixSignalRegistration sigint, PosixSignalRegistration sigterm, CancellationTokenSource cts) : IDisposable
    {
        public void Dispose()
        {
            sigint.Dispose();
            sigterm.Dispose();
            cts.Dispose();
        }
    }
}
