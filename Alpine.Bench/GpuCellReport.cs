using System.Globalization;
using System.Text;
using static Alpine.Bench.HandTimed;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;

namespace Alpine.Bench;

/// <summary>
/// Hand-timed CPU-vs-GPU cell table with the napkin math beside each row (medians of a few repetitions after a
/// warm-up), bounded in time for the lent GPU machine: <c>Alpine.Bench gpu-cell-report [--sizes 256x64,2048x128]
/// [--reps 3] [--no-cpu] [--out FILE]</c>. BenchmarkDotNet's <see cref="GpuCellBenchmarks"/> measures the same
/// workloads with its statistics when time allows.
/// </summary>
public static class GpuCellReport
{
    public const int T = 300;

    public static int Run(string[] args)
    {
        string sizes = Option(args, "--sizes") ?? "256x64,2048x64,256x128,2048x128,256x67,2048x67";
        int reps = int.Parse(Option(args, "--reps") ?? "3", CultureInfo.InvariantCulture);
        bool withCpu = !args.Contains("--no-cpu");
        string? outFile = Option(args, "--out");
        using var gpu = AcceleratorFactory.TryCreateCuda();
        var text = new StringBuilder();
        void Line(string s) { Console.WriteLine(s); text.AppendLine(s); }

        double cpuPeak = withCpu ? DevicePeak.CpuFmaGflops() : double.NaN;
        Line($"## GPU cell (ILGPU): {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, T = {T}, graph path, Neighbor c*, L = 1, D = H");
        Line("");
        Line($"CPU: {Environment.ProcessorCount} logical cores, measured FP32 FMA peak {cpuPeak:F0} GFLOP/s.");
        double gpuPeak = double.NaN, gpuBw = double.NaN;
        if (gpu != null)
        {
            var a = gpu.Accelerator;
            gpuPeak = DevicePeak.GpuFmaGflops(a);
            gpuBw = DevicePeak.GpuCopyGBps(a);
            double gemm = DevicePeak.GpuGemmGflops(new KernelSet(a));
            Line($"GPU: {a.Name}, {a.NumMultiprocessors} SMs; measured FP32 FMA peak {gpuPeak:F0} GFLOP/s, copy {gpuBw:F0} GB/s, " +
                 $"this library's tiled GEMM at 4096³ {gemm:F0} GFLOP/s ({100 * gemm / gpuPeak:F0}% of peak).");
        }
        else Line("GPU: none (no CUDA device): GPU rows pending.");
        Line("");
        Line("| B | H=D | impl | fwd ms | fwd+bwd ms | GFLOP fwd+bwd | GFLOP/s | % peak | MB moved | floor ms |");
        Line("|---|---|---|---|---|---|---|---|---|---|");
        // Two passes: every size's GPU rows first, then the CPU rows (minutes at B = 2048), so a time box on the lent
        // machine cuts CPU rows, not the GPU rows the run is for.
        foreach (bool cpuPass in new[] { false, true })
        {
            if (cpuPass && !withCpu) break;
            foreach (string size in sizes.Split(','))
            {
                var parts = size.Split('x');
                int b = int.Parse(parts[0], CultureInfo.InvariantCulture), h = int.Parse(parts[1], CultureInfo.InvariantCulture);
                using var c = new CellBenchCase(b, T, h, cpuPass ? null : gpu, cpuPass);
                double flops = c.ForwardFlops + c.BackwardFlops, bytes = c.ForwardBytes + c.BackwardBytes;
                void Row(string impl, Action fwd, Action fwdBwd, double peak, double bandwidth)
                {
                    double f, fb;
                    // One failing row (a launch error on a new device) must not cost the rest of the table.
                    try { f = Median(fwd, reps); fb = Median(fwdBwd, reps); }
                    catch (Exception e) { Line($"| {b} | {h} | {impl} | failed: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")} |"); return; }
                    double rate = flops / (fb / 1e3) / 1e9;
                    double floor = Math.Max(flops / (peak * 1e9), double.IsNaN(bandwidth) ? 0 : bytes / (bandwidth * 1e9)) * 1e3;
                    Line($"| {b} | {h} | {impl} | {f:F1} | {fb:F1} | {flops / 1e9:F1} | {rate:F1} | {100 * rate / peak:F1}% | {bytes / 1e6:F0} | {floor:F1} |");
                }
                if (cpuPass) Row("CPU GraphLstm<float>", c.CpuForward, c.CpuForwardBackward, cpuPeak, double.NaN);
                else if (gpu != null)
                {
                    Row("GPU step launch", () => c.GpuForward(CellSchedule.StepLaunch), () => c.GpuForwardBackward(CellSchedule.StepLaunch), gpuPeak, gpuBw);
                    Row("GPU persistent", () => c.GpuForward(CellSchedule.Persistent), () => c.GpuForwardBackward(CellSchedule.Persistent), gpuPeak, gpuBw);
                }
                else
                    foreach (string impl in new[] { "GPU step launch", "GPU persistent" })
                        Line($"| {b} | {h} | {impl} | pending: no CUDA | | {flops / 1e9:F1} | | | {bytes / 1e6:F0} | |");
            }
        }
        Line("");
        Line("FLOPs count the GEMM-shaped work only (forward 2·N·8H·(D+H), backward twice that; N = B·T). MB moved is the");
        Line("DRAM traffic if each activation is written once and read once per use; floor = max(FLOPs / peak, bytes / bandwidth).");
        if (outFile != null) File.WriteAllText(outFile, text.ToString());
        return 0;
    }
}
