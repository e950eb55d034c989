using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>
/// Shape and strides of <c>C[M,N] (+)= A·B (+ bias)</c>. A(m,k) = <c>a[m·Sam + k·Sak]</c> and
/// B(k,n) = <c>b[k·Sbk + n·Sbn]</c>, so a transpose is a swap of strides, not a copy.
/// </summary>
public struct GemmDims
{
    public int M, N, K;
    public int Sam, Sak, Sbk, Sbn, Ldc;
    /// <summary>1: C += A·B (parameter gradients accumulate); 0: C = A·B.</summary>
    public int Accumulate;
    /// <summary>1: add <c>bias[n]</c> to every row.</summary>
    public int HasBias;
    /// <summary>Split-K: grid slice z covers k in [z·KChunk, (z+1)·KChunk) and writes its own dense (M, N) partial
    /// at <c>c[z·M·N]</c>; <see cref="GemmKernel.ReduceSplits"/> then adds the slices in order. 0: no split.</summary>
    public int KChunk;
}

/// <summary>Tiled shared-memory FP32 GEMM: one 16×16 tile of C per group of 64 threads, each thread a 2×2 block.</summary>
public static class GemmKernel
{
    public const int Tile = 16;
    public const int GroupSize = 64;

    /// <summary>Effectively computes C = (Accumulate ? C : 0) + A·B + (HasBias ? bias : 0).</summary>
    public static void Gemm(GemmDims d, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c)
    {
        var aTile = SharedMemory.Allocate<float>(Tile * Tile); // [k][m]
        var bTile = SharedMemory.Allocate<float>(Tile * Tile); // [k][n]
        int tid = Group.IdxX;
        int tr = tid / 8, tc = tid % 8;
        int m0 = Grid.IdxY * Tile, n0 = Grid.IdxX * Tile;
        bool split = d.KChunk > 0;
        int kBegin = split ? Grid.IdxZ * d.KChunk : 0, kEnd = split ? XMin(d.K, kBegin + d.KChunk) : d.K;
        // Map consecutive threads along the unit-stride dimension so global loads coalesce.
        bool aAlongM = d.Sam == 1, bAlongK = d.Sbk == 1;
        float c00 = 0f, c01 = 0f, c10 = 0f, c11 = 0f;
        for (int k0 = kBegin; k0 < kEnd; k0 += Tile)
        {
            for (int e = tid; e < Tile * Tile; e += GroupSize)
            {
                int r = aAlongM ? e % Tile : e / Tile, kk = aAlongM ? e / Tile : e % Tile;
                int m = m0 + r, k = k0 + kk;
                aTile[kk * Tile + r] = m < d.M && k < kEnd ? a[(long)m * d.Sam + (long)k * d.Sak] : 0f;
                int kb = bAlongK ? e % Tile : e / Tile, cc = bAlongK ? e / Tile : e % Tile;
                int n = n0 + cc, k2 = k0 + kb;
                bTile[kb * Tile + cc] = n < d.N && k2 < kEnd ? b[(long)k2 * d.Sbk + (long)n * d.Sbn] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < Tile; kk++)
            {
                float a0 = aTile[kk * Tile + 2 * tr], a1 = aTile[kk * Tile + 2 * tr + 1];
                float b0 = bTile[kk * Tile + 2 * tc], b1 = bTile[kk * Tile + 2 * tc + 1];
                c00 += a0 * b0; c01 += a0 * b1; c10 += a1 * b0; c11 += a1 * b1;
            }
            Group.Barrier();
        }
        Store(d, bias, c, m0 + 2 * tr, n0 + 2 * tc, c00);
        Store(d, bias, c, m0 + 2 * tr, n0 + 2 * tc + 1, c01);
        Store(d, bias, c, m0 + 2 * tr + 1, n0 + 2 * tc, c10);
        Store(d, bias, c, m0 + 2 * tr + 1, n0 + 2 * tc + 1, c11);
    }

    private static void Store(GemmDims d, ArrayView<float> bias, ArrayView<float> c, int m, int n, float value)
    {
        if (m >= d.M || n >= d.N) return;
        if (d.KChunk > 0) { c[(long)Grid.IdxZ * d.M * d.N + (long)m * d.N + n] = value; return; }
        Finish(d, bias, c, m, n, value);
    }

    private static void Finish(GemmDims d, ArrayView<float> bias, ArrayView<float> c, int m, int n, float value)
    {
        long at = (long)m * d.Ldc + n;
        if (d.HasBias != 0) value += bias[n];
        c[at] = d.Accumulate != 0 ? c[at] + value : value;
    }

    /// <summary>C (+)= Σ_z partial[z] (+bias), the split-K slices added in slice order (deterministic, SPEC D13).</summary>
    public static void ReduceSplits(Index1D e, GemmDims d, int splits, ArrayView<float> partial, ArrayView<float> bias, ArrayView<float> c)
    {
        long mn = (long)d.M * d.N;
        float sum = 0f;
        for (int z = 0; z < splits; z++) sum += partial[z * mn + e];
        Finish(d, bias, c, e / d.N, e % d.N, sum);
    }

    public static KernelConfig Config(in GemmDims d, int splits) =>
        new(new Index3D((d.N + Tile - 1) / Tile, (d.M + Tile - 1) / Tile, splits), new Index3D(GroupSize, 1, 1));

    private static int XMin(int a, int b) => a < b ? a : b;
}
