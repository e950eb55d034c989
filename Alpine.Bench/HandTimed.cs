using System.Diagnostics;

namespace Alpine.Bench;

/// <summary>The timing and argument helpers of the hand-timed reports (<see cref="GpuCellReport"/>, <see cref="GpuTrainStepReport"/>).</summary>
public static class HandTimed
{
    /// <summary>Median wall time in ms of <paramref name="reps"/> runs after one warm-up (JIT, kernel loads, first-touch allocation).</summary>
    public static double Median(Action run, int reps)
    {
        run();
        var times = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times[r] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[reps / 2];
    }

    /// <summary>The value after <paramref name="name"/> in <paramref name="args"/>, or null.</summary>
    public static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
