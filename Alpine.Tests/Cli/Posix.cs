using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Alpine.Tests.Cli;

/// <summary>Sends a POSIX signal to a child process (the CLI tests' Ctrl-C, SIGTERM and kill -9).</summary>
internal static class Posix
{
    public const int SigInt = 2, SigTerm = 15, SigKill = 9;

    private static readonly IntPtr SigDfl = 0, SigIgn = 1;
    private static readonly object Gate = new();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true)]
    private static extern int sigaction(int sig, IntPtr act, IntPtr oldact);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern IntPtr SetDisposition(int sig, IntPtr handler);

    /// <summary>0 when the signal was sent; fails the test when the process ignores it (it would run on as if never sent).</summary>
    public static int Kill(int pid, int signal)
    {
        Assert.That(Ignores(pid, signal), Is.False, $"process {pid} ignores signal {signal}");
        return kill(pid, signal);
    }

    /// <summary>
    /// Starts a child with SIGINT at its default disposition. A shell ignores SIGINT in a job it starts in the
    /// background without job control (<c>dotnet test … &amp;</c> in a script), the ignore survives fork and exec, and
    /// the child's runtime then keeps it ignored (.NET installs no handler for an ignored signal, as a C program
    /// following the same convention would not): a Ctrl-C test would signal a child that cannot hear it. This
    /// process keeps its own disposition once the child is started.
    /// </summary>
    public static Process StartWithDefaultSigInt(Func<Process> start)
    {
        lock (Gate)
        {
            if (!IgnoredHere(SigInt)) return start();
            SetDisposition(SigInt, SigDfl);
            try { return start(); }
            finally { SetDisposition(SigInt, SigIgn); }
        }
    }

    /// <summary>Whether this process ignores the signal: sa_handler, the first field of struct sigaction on Linux and macOS.</summary>
    private static bool IgnoredHere(int sig)
    {
        IntPtr old = Marshal.AllocHGlobal(512); // larger than any libc's struct sigaction
        try
        {
            return sigaction(sig, IntPtr.Zero, old) == 0 && Marshal.ReadIntPtr(old) == SigIgn;
        }
        finally { Marshal.FreeHGlobal(old); }
    }

    /// <summary>Whether process <paramref name="pid"/> ignores the signal (its SigIgn mask; false where /proc is absent).</summary>
    private static bool Ignores(int pid, int sig)
    {
        string? mask;
        try { mask = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)); }
        catch (IOException) { return false; }
        return mask is not null && (ulong.Parse(mask["SigIgn:".Length..].Trim(), NumberStyles.HexNumber) & (1UL << (sig - 1))) != 0;
    }
}
