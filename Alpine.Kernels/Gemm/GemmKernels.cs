using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Gemm;

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
    /// <summary>1: store max(value, 0) (after bias and accumulation): an MLP's hidden layer in the product's store.</summary>
    public int Relu;
    /// <summary>Split-K: grid slice z covers k in [z·KChunk, (z+1)·KChunk) and writes its own dense (M, N) partial
    /// at <c>c[z·M·N]</c>; <see cref="GemmKernels.ReduceSplits"/> then adds the slices in order. 0: no split.</summary>
    public int KChunk;
}

/// <summary>Four accumulators of one row of a thread's 4×4 block of C.</summary>
internal struct Row4
{
    public float X, Y, Z, W;
    public void Add(float a, float b0, float b1, float b2, float b3) { X += a * b0; Y += a * b1; Z += a * b2; W += a * b3; }
}

/// <summary>
/// Tiled shared-memory FP32 GEMM: one 32×32 tile of C per group of 64 threads, each thread a 4×4 block
/// (8 shared-memory loads per 16 FMAs), K in slices of 16.
/// </summary>
public static class GemmKernels
{
    /// <summary>Rows and columns of C per group.</summary>
    public const int Tile = 32;
    /// <summary>K per shared-memory stage.</summary>
    public const int TileK = 16;
    public const int GroupSize = 64;

    /// <summary>Effectively computes C = (Accumulate ? C : 0) + A·B + (HasBias ? bias : 0).</summary>
    public static void Gemm(GemmDims d, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c)
    {
        var aTile = SharedMemory.Allocate<float>(TileK * Tile); // [k][m]
        var bTile = SharedMemory.Allocate<float>(TileK * Tile); // [k][n]
        int tid = Group.IdxX;
        int tr = 4 * (tid / 8), tc = 4 * (tid % 8);
        int m0 = Grid.IdxY * Tile, n0 = Grid.IdxX * Tile;
        bool split = d.KChunk > 0;
        int kBegin = split ? Grid.IdxZ * d.KChunk : 0, kEnd = split ? XMin(d.K, kBegin + d.KChunk) : d.K;
        // Map consecutive threads along the unit-stride dimension so global loads coalesce.
        bool aAlongM = d.Sam == 1, bAlongK = d.Sbk == 1;
        Row4 r0 = default, r1 = default, r2 = default, r3 = default;
        for (int k0 = kBegin; k0 < kEnd; k0 += TileK)
        {
            for (int e = tid; e < TileK * Tile; e += GroupSize)
            {
                int r = aAlongM ? e % Tile : e / TileK, kk = aAlongM ? e / Tile : e % TileK;
                int m = m0 + r, k = k0 + kk;
                aTile[kk * Tile + r] = m < d.M && k < kEnd ? a[(long)m * d.Sam + (long)k * d.Sak] : 0f;
                int kb = bAlongK ? e % TileK : e / Tile, cc = bAlongK ? e / TileK : e % Tile;
                int n = n0 + cc, k2 = k0 + kb;
                bTile[kb * Tile + cc] = n < d.N && k2 < kEnd ? b[(long)k2 * d.Sbk + (long)n * d.Sbn] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < TileK; kk++)
            {
                int at = kk * Tile;
                float b0 = bTile[at + tc], b1 = bTile[at + tc + 1], b2 = bTile[at + tc + 2], b3 = bTile[at + tc + 3];
                r0.Add(aTile[at + tr], b0, b1, b2, b3);
                r1.Add(aTile[at + tr + 1], b0, b1, b2, b3);
                r2.Add(aTile[at + tr + 2], b0, b1, b2, b3);
                r3.Add(aTile[at + tr + 3], b0, b1, b2, b3);
            }
            Group.Barrier();
        }
        StoreRow(d, bias, c, m0 + tr, n0 + tc, r0);
        StoreRow(d, bias, c, m0 + tr + 1, n0 + tc, r1);
        StoreRow(d, bias, c, m0 + tr + 2, n0 + tc, r2);
        StoreRow(d, bias, c, m0 + tr + 3, n0 + tc, r3);
    }

    private static void StoreRow(GemmDims d, ArrayView<float> bias, ArrayView<float> c, int m, int n, Row4 row)
    {
        Store(d, bias, c, m, n, row.X);
        Store(d, bias, c, m, n + 1, row.Y);
        Store(d, bias, c, m, n + 2, row.Z);
        Store(d, bias, c, m, n + 3, row.W);
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
        if (d.Accumulate != 0) value += c[at];
        c[at] = d.Relu != 0 && value < 0f ? 0f : value;
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
