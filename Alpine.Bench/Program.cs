using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Alpine.Bench;

public static class Program
{
    /// <summary>
    /// BenchmarkDotNet's switcher (`--filter '*Cell*'`, `--job short`, ...). `--inprocess` runs the benchmarks
    /// inside this process: for machines with a .NET runtime but no SDK (the lent GPU machine), where
    /// BenchmarkDotNet cannot build its usual child project.
    /// </summary>
    public static int Main(string[] args)
    {
        // The hand-timed cell table for the lent GPU machine (bounded time, napkin math): see GpuCellReport.
        if (args is ["gpu-cell-report", ..]) return GpuCellReport.Run(args[1..]);
        // The hand-timed whole-model train step, CPU vs GPU backend (skips the GPU rows without CUDA): see GpuTrainStepReport.
        if (args is ["gpu-step-report", ..]) return GpuTrainStepReport.Run(args[1..]);
        // The graph-LSTM layer against the FMA peak by wall clock and by CPU time (for a shared machine): see CpuCellReport.
        if (args is ["cpu-cell-report", ..]) return CpuCellReport.Run(args[1..]);
        // Each baseline's epoch on real prepared data, projected from a few batches: see BaselineEpochReport.
        if (args is ["baseline-epoch-report", ..]) return BaselineEpochReport.Run(args[1..]);
        IConfig? config = null;
        if (args.Contains("--inprocess"))
        {
            args = args.Where(a => a != "--inprocess").ToArray();
            config = DefaultConfig.Instance
                .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortRun-InProcess"))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }
}
