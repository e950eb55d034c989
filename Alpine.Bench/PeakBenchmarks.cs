using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// This machine's FMA peak: twelve independent accumulators (more than FMA latency × pipes) in a
/// register-only loop, so nothing but the FMA units is measured. With OperationsPerInvoke = FLOPs per
/// call, BenchmarkDotNet's time per operation is ns per FLOP: GFLOP/s = 1 / Mean[ns].
/// </summary>
[MedianColumn]
public class PeakBenchmarks
{
    private const int Iterations = 1 << 20;
    internal const int Accumulators = 12;
    private const int Flops512 = Iterations * Accumulators * 16 * 2;
    private const int Flops256 = Iterations * Accumulators * 8 * 2;

    [Benchmark(OperationsPerInvoke = Flops512)]
    public float Vector512SingleThread() => Fma512(Iterations);

    [Benchmark(OperationsPerInvoke = Flops256)]
    public float Vector256SingleThread() => Fma256(Iterations);

    /// <summary>Every core runs the same loop; FLOPs counted over all of them.</summary>
    [Benchmark(OperationsPerInvoke = Flops512)]
    public float Vector512AllThreads()
    {
        int p = Environment.ProcessorCount;
        var sums = new float[p];
        // Each thread does 1/p of the work so OperationsPerInvoke stays the total.
        Parallel.For(0, p, i => sums[i] = Fma512(Iterations / p));
        return sums.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    /// <summary>n iterations of <see cref="Accumulators"/> FMA chains on 16 lanes (also used by DevicePeak).</summary>
    internal static float Fma512(int n)
    {
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-6f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (int i = 0; i < n; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    /// <summary>n iterations of <see cref="Accumulators"/> FMA chains on 8 lanes.</summary>
    internal static float Fma256(int n)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-6f);
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (int i = 0; i < n; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
