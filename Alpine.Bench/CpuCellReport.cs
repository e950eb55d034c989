using System.Diagnostics;
using System.Globalization;
using static Alpine.Bench.HandTimed;

namespace Alpine.Bench;

/// <summary>
/// <see cref="GraphLstmCellBenchmarks.GraphForwardBackward"/> and the FMA peak of
/// <see cref="PeakBenchmarks.Vector512AllThreads"/>, alternated round by round and timed two ways: wall clock
/// (GFLOP/s) and this process's CPU time (GFLOP per CPU-second). On a machine shared with other work the wall figure
/// swings with the load; the CPU-time figure, what the cores did while they were ours, far less, so it is the one
/// to compare builds by there. <c>Alpine.Bench cpu-cell-report [--rounds 7]</c>.
/// </summary>
public static class CpuCellReport
{
    public static int Run(string[] args)
    {
        int rounds = int.Parse(Option(args, "--rounds") ?? "7", CultureInfo.InvariantCulture);
        var cell = new GraphLstmCellBenchmarks();
        cell.Setup();
        int cores = Environment.ProcessorCount, iterations = 1 << 22;
        double peakFlops = (double)iterations * PeakBenchmarks.Accumulators * 16 * 2 * cores;
        void Peak() => Parallel.For(0, cores, _ => PeakBenchmarks.Fma512(iterations));
        Peak();
        cell.GraphForwardBackward();   // warm-up: JIT and the first touch of the layer's buffers
        var peakWall = new double[rounds]; var peakCpu = new double[rounds];
        var cellWall = new double[rounds]; var cellCpu = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            (peakWall[r], peakCpu[r]) = Rates(Peak, peakFlops);
            (cellWall[r], cellCpu[r]) = Rates(cell.GraphForwardBackward, GraphLstmCellBenchmarks.GraphForwardBackwardFlops);
            Console.WriteLine($"round {r + 1}: peak {peakWall[r]:F0} GFLOP/s, {peakCpu[r]:F0} per CPU-s; graph-LSTM fwd+bwd " +
                $"{cellWall[r]:F1} GFLOP/s, {cellCpu[r]:F1} per CPU-s; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        Console.WriteLine($"median: peak {MedianOf(peakWall):F0} GFLOP/s, {MedianOf(peakCpu):F0} per CPU-s; graph-LSTM fwd+bwd {MedianOf(cellWall):F1} GFLOP/s " +
            $"({100 * MedianOf(cellWall) / MedianOf(peakWall):F0} % of peak), {MedianOf(cellCpu):F1} per CPU-s ({100 * MedianOf(cellCpu) / MedianOf(peakCpu):F0} % of peak)");
        return 0;
    }

    /// <summary>GFLOP/s by the wall clock and GFLOP per CPU-second of this process, of one call.</summary>
    private static (double Wall, double Cpu) Rates(Action run, double flops)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        run();
        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return (flops / wall / 1e9, flops / (process.TotalProcessorTime - cpu0).TotalSeconds / 1e9);
    }

    private static double MedianOf(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
