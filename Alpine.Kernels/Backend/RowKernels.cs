using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>
/// A block of <c>Cols</c> columns in rows of two row-major buffers: row r of the source starts at
/// <c>r·SrcStride + SrcOffset</c>, of the destination at <c>r·DstStride + DstOffset</c> (so a head input
/// <c>[f ; x_new]</c> is one buffer and its parts are column blocks of it).
/// </summary>
public struct RowBlock
{
    public int Cols, SrcStride, SrcOffset, DstStride, DstOffset;
    /// <summary>1: dst += Scale·src; 0: dst = Scale·src.</summary>
    public int Accumulate;
    public float Scale;

    public static RowBlock Copy(int cols, int srcStride, int srcOffset, int dstStride, int dstOffset, float scale = 1f, bool accumulate = false) =>
        new() { Cols = cols, SrcStride = srcStride, SrcOffset = srcOffset, DstStride = dstStride, DstOffset = dstOffset, Scale = scale, Accumulate = accumulate ? 1 : 0 };
}

/// <summary>Row moves of the model around the layers: copies, scaled adds, gathers by index, and the
/// deterministic fan-in of many rows into one (SPEC D13: no atomics, every sum in a fixed order).</summary>
public static class RowKernels
{
    /// <summary>Effectively computes dst[r, block] (+)= Scale·src[r, block], one thread per element.</summary>
    public static void CopyBlock(Index1D e, RowBlock b, ArrayView<float> src, ArrayView<float> dst)
    {
        int r = e / b.Cols, k = e % b.Cols;
        float v = b.Scale * src[(long)r * b.SrcStride + b.SrcOffset + k];
        long at = (long)r * b.DstStride + b.DstOffset + k;
        dst[at] = b.Accumulate != 0 ? dst[at] + v : v;
    }

    /// <summary>Effectively computes dst[r, block] = src[ids[r], block] (the user rows U[user], SPEC D9).</summary>
    public static void GatherRows(Index1D e, RowBlock b, ArrayView<int> ids, ArrayView<float> src, ArrayView<float> dst)
    {
        int r = e / b.Cols, k = e % b.Cols;
        dst[(long)r * b.DstStride + b.DstOffset + k] = src[(long)ids[r] * b.SrcStride + b.SrcOffset + k];
    }

    /// <summary>
    /// The fan-in as a CSR (one thread per (group, column)): dst[rows[g], block] += src[sources[i], block] for
    /// i = offsets[g] .. offsets[g+1] − 1, added one by one in that order into the row, so the sum is the one
    /// the CPU computes (the user-matrix gradient, targets in target order; the category-embedding gradient,
    /// positions in the CPU model's order). Each destination row appears in at most one group.
    /// </summary>
    public static void AddGroupedRows(Index1D e, RowBlock b, ArrayView<int> rows, ArrayView<int> offsets, ArrayView<int> sources,
        ArrayView<float> src, ArrayView<float> dst)
    {
        int g = e / b.Cols, k = e % b.Cols;
        long at = (long)rows[g] * b.DstStride + b.DstOffset + k;
        float acc = dst[at];
        for (int i = offsets[g]; i < offsets[g + 1]; i++) acc += src[(long)sources[i] * b.SrcStride + b.SrcOffset + k];
        dst[at] = acc;
    }
}
