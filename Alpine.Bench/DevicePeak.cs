using System.Diagnostics;
using System.Runtime.Intrinsics;
using Alpine.Kernels.Device;
using Alpine.Kernels.Gemm;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Bench;

/// <summary>The ceilings the cell rows are compared with, measured in the same run.</summary>
public static class DevicePeak
{
    /// <summary>CPU FP32 FMA peak: every core runs PeakBenchmarks' register-only FMA chains on the widest accelerated vectors.</summary>
    public static double CpuFmaGflops()
    {
        const int iters = 20_000_000;
        int cores = Environment.ProcessorCount, lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        var sink = new float[cores];
        double Run()
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, cores, i => sink[i] = lanes == 16 ? PeakBenchmarks.Fma512(iters) : PeakBenchmarks.Fma256(iters));
            return sw.Elapsed.TotalSeconds;
        }
        Run();
        return (double)cores * iters * PeakBenchmarks.Accumulators * lanes * 2 / Run() / 1e9;
    }

    private static void FmaKernel(Index1D i, int iters, ArrayView<float> output)
    {
        float m = 0.999999f, c = 1e-7f;
        float a0 = i, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7;
        for (int k = 0; k < iters; k++)
        {
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
            a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
        }
        output[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }

    private static void CopyKernel(Index1D i, ArrayView<float> from, ArrayView<float> to) => to[i] = from[i];

    /// <summary>GPU FP32 FMA peak (8 independent chains per thread; ptxas contracts mul+add into FMA).</summary>
    public static double GpuFmaGflops(Accelerator a)
    {
        int threads = a.NumMultiprocessors * a.MaxNumThreadsPerMultiprocessor * 4, iters = 4096;
        using var output = a.Allocate1D<float>(threads);
        var kernel = a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>>(FmaKernel);
        kernel(threads, iters, output.View); a.Synchronize();
        var sw = Stopwatch.StartNew();
        kernel(threads, iters, output.View); a.Synchronize();
        return (double)threads * iters * 8 * 2 / sw.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>Device copy bandwidth, GB/s counting bytes read and written.</summary>
    public static double GpuCopyGBps(Accelerator a)
    {
        const int n = 64 << 20;
        using var from = a.Allocate1D<float>(n);
        using var to = a.Allocate1D<float>(n);
        var kernel = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(CopyKernel);
        kernel(n, from.View, to.View); a.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int r = 0; r < 5; r++) kernel(n, from.View, to.View);
        a.Synchronize();
        return 5.0 * n * 8 / sw.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>This library's tiled GEMM on a large square FP32 product.</summary>
    public static double GpuGemmGflops(KernelSet k, int size = 4096)
    {
        var a = k.Accelerator;
        using var x = a.Allocate1D<float>((long)size * size);
        using var y = a.Allocate1D<float>((long)size * size);
        using var z = a.Allocate1D<float>((long)size * size);
        x.MemSetToZero(); y.MemSetToZero();
        var d = new GemmDims { M = size, N = size, K = size, Sam = size, Sak = 1, Sbk = size, Sbn = 1, Ldc = size };
        k.RunGemm(d, x.View, y.View, default, z.View); a.Synchronize();
        var sw = Stopwatch.StartNew();
        k.RunGemm(d, x.View, y.View, default, z.View); a.Synchronize();
        return 2.0 * size * size * size / sw.Elapsed.TotalSeconds / 1e9;
    }
}
