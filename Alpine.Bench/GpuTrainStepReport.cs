using System.Globalization;
using System.Text;
using Alpine.Train;
using static Alpine.Bench.HandTimed;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;

namespace Alpine.Bench;

/// <summary>
/// Hand-timed whole-model train steps (<see cref="TrainStepCase"/>), CPU backend vs GPU backend in the same run,
/// both batch modes, bounded in time for the lent GPU machine:
/// <c>Alpine.Bench gpu-step-report [--reps 3] [--no-cpu] [--out FILE]</c>. Without a CUDA device the GPU rows are
/// skipped with the reason (exit code 0).
/// </summary>
public static class GpuTrainStepReport
{
    public static int Run(string[] args)
    {
        int reps = int.Parse(Option(args, "--reps") ?? "3", CultureInfo.InvariantCulture);
        bool withCpu = !args.Contains("--no-cpu");
        string? outFile = Option(args, "--out");
        using var gpu = AcceleratorFactory.TryCreateCuda();
        var text = new StringBuilder();
        void Line(string s) { Console.WriteLine(s); text.AppendLine(s); }

        Line($"## Whole-model train step: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Line("");
        Line($"Batch: {TrainStepCase.Users * TrainStepCase.PerUser} targets of {TrainStepCase.Users} users; model over {TrainStepCase.ModelUsers} users, " +
             $"{TrainStepCase.ItemCount} items, kuaishou alpine, D = H = {TrainStepCase.D}, M = 128, L = 1. Step = zero gradients + forward/backward + Adam.");
        Line($"CPU: {Environment.ProcessorCount} logical cores. GPU: {(gpu != null ? gpu.Accelerator.Name : $"none, GPU rows skipped ({AcceleratorFactory.DescribeMissingCuda()})")}.");
        Line("");
        var shared = new List<(string Impl, double StepMs)>(); // SharedPrefix steps, for the epoch projection
        Line("| mode | cell-steps | impl | step ms | targets/s | vs CPU | predict ms |");
        Line("|---|---|---|---|---|---|---|");
        foreach (var mode in new[] { BatchMode.SharedPrefix, BatchMode.Window })
        {
            using var c = new TrainStepCase(mode, gpu, withCpu);
            int targets = c.Batch.TargetCount;
            double cpuMs = double.NaN;
            void Row(string impl, Action step, Action? predict)
            {
                double ms, predictMs = double.NaN;
                // One failing row (a launch error on a new device) must not cost the rest of the table.
                try { ms = Median(step, reps); if (predict != null) predictMs = Median(predict, reps); }
                catch (Exception e) { Line($"| {mode} | {c.CellSteps:N0} | {impl} | failed: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")} |"); return; }
                if (impl.StartsWith("CPU")) cpuMs = ms;
                if (mode == BatchMode.SharedPrefix) shared.Add((impl, ms));
                string ratio = double.IsNaN(cpuMs) || impl.StartsWith("CPU") ? "" : $"{cpuMs / ms:F1}×";
                Line($"| {mode} | {c.CellSteps:N0} | {impl} | {ms:F1} | {targets / (ms / 1e3):N0} | {ratio} | {(double.IsNaN(predictMs) ? "" : predictMs.ToString("F1", CultureInfo.InvariantCulture))} |");
            }
            if (withCpu) Row("CPU backend", () => c.CpuStep(), null);
            if (gpu != null)
            {
                // Step leaves Adam running (the trainer packs the next batch meanwhile); a timed step includes it.
                Row("GPU backend, step launch", () => { c.GpuStep(CellSchedule.StepLaunch); gpu.Accelerator.Synchronize(); }, c.GpuPredict);
                Row("GPU backend, persistent", () => { c.GpuStep(CellSchedule.Persistent); gpu.Accelerator.Synchronize(); }, null);
            }
        }
        // Without a device the GPU rows of the projection say so instead of vanishing.
        foreach (string impl in new[] { "GPU backend, step launch", "GPU backend, persistent" })
            if (!shared.Exists(r => r.Impl == impl)) shared.Add((impl, double.NaN));
        Line("");
        string missing = gpu == null ? "pending: no CUDA" : "failed (see the table)";
        foreach (string line in GpuEpochProjection.Lines(shared, TrainStepCase.ClickSteps + TrainStepCase.NotClickSteps, missing)) Line(line);
        if (outFile != null) File.WriteAllText(outFile, text.ToString());
        return 0;
    }
}
