using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Alpine.Distributed;

/// <summary>
/// Where a data-parallel step's time goes, per rank: the compute of its share (process CPU seconds, which a
/// crowded machine does not inflate the way it does wall time) and the exchange (wall seconds of the gathers and the
/// rank sum). <see cref="Summary"/> gathers the ranks' per-step compute to find each step's slowest rank: the
/// critical path a run on idle cores would take, and what the scaling projection in docs/BENCHMARKS.md starts from.
/// </summary>
public sealed partial class StepTimes
{
    private readonly List<double> _compute = [];
    private double _exchange;

    public int Steps => _compute.Count;

    /// <summary>Records one step: its compute (CPU seconds) and its exchange (wall seconds).</summary>
    public void Add(double computeCpuSeconds, double exchangeSeconds)
    {
        _compute.Add(computeCpuSeconds);
        _exchange += exchangeSeconds;
    }

    /// <summary>
    /// One line for rank 0 to print (null on the other ranks, or when no step was recorded); every rank must call it
    /// (it gathers). <paramref name="gradientFloats"/> is what each rank sends per step.
    /// </summary>
    public string? Summary(IRankGroup group, long gradientFloats)
    {
        int steps = _compute.Count, n = group.Size;
        var counts = new double[n];
        group.AllGather([steps], counts);
        if (counts.Any(c => c != steps) || steps == 0) return null;  // a rank stopped early: no per-step pairing
        var all = new double[steps * n];
        group.AllGather(_compute.ToArray(), all);
        var exchange = new double[n];
        group.AllGather([_exchange], exchange);
        if (group.Rank != 0) return null;
        double slowest = 0, mean = 0;
        for (int s = 0; s < steps; s++)
        {
            double max = 0;
            for (int r = 0; r < n; r++) { max = Math.Max(max, all[r * steps + s]); mean += all[r * steps + s] / n; }
            slowest += max;
        }
        double mb = gradientFloats * sizeof(float) / 1e6;
        return string.Create(CultureInfo.InvariantCulture,
            $"step times, {n} rank{(n == 1 ? "" : "s")}, {steps} steps: compute {1e3 * slowest / steps:F1} ms a step on the slowest rank " +
            $"({1e3 * mean / steps:F1} mean, CPU time), exchange {1e3 * exchange.Max() / steps:F2} ms (wall); " +
            $"each rank sends {mb:F2} MB and receives {(n - 1) * mb:F2} MB a step");
    }

    /// <summary>This process's CPU seconds (all threads), to the nanosecond where the OS offers it.</summary>
    public static double ProcessCpuSeconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ProcessCpuClock, out var t) == 0) return t.Seconds + t.Nanoseconds * 1e-9;
        return Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    }

    private const int ProcessCpuClock = 2;   // CLOCK_PROCESS_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
