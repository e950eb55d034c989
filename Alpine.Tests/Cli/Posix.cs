using System.Runtime.InteropServices;

namespace Alpine.Tests.Cli;

/// <summary>Sends a POSIX signal to a child process (the CLI tests' Ctrl-C, SIGTERM and kill -9).</summary>
internal static class Posix
{
    public const int SigInt = 2, SigTerm = 15, SigKill = 9;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>0 when the signal was sent.</summary>
    public static int Kill(int pid, int signal) => kill(pid, signal);
}
