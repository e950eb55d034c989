using Alpine.Model;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Optim;

/// <summary>The optimizer's kernels: the norm's partial sums and the per-parameter Adam update.</summary>
public static class AdamKernels
{
    public const int GroupSize = 64;

    /// <summary>One parameter per thread: <see cref="AdamStep.Update"/>, the rule the CPU loop runs.</summary>
    public static void Step(Index1D i, AdamStep a, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v) =>
        a.Update(ref p[i], g[i], ref m[i], ref v[i]);

    /// <summary>partial[g] = Σ x² over group g's contiguous chunk; a fixed tree, so the norm is deterministic.</summary>
    public static void SumSquaresPartial(int chunk, ArrayView<float> x, ArrayView<float> partial)
    {
        var acc = SharedMemory.Allocate<float>(GroupSize);
        int tid = Group.IdxX;
        long start = (long)Grid.IdxX * chunk, end = start + chunk < x.Length ? start + chunk : x.Length;
        float sum = 0f;
        for (long e = start + tid; e < end; e += GroupSize) sum += x[e] * x[e];
        acc[tid] = sum;
        Group.Barrier();
        for (int half = GroupSize / 2; half > 0; half /= 2)
        {
            if (tid < half) acc[tid] += acc[tid + half];
            Group.Barrier();
        }
        if (tid == 0) partial[Grid.IdxX] = acc[0];
    }
}
