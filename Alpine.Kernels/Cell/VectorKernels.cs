using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>Small kernels around the cell: weight re-layout, bias gradients, gradient norm.</summary>
public static class VectorKernels
{
    /// <summary>WrT[k, r] = W_h[r, k] for r &lt; 4H, W*_h[r−4H, k] otherwise: (H, GH), so the forward's
    /// threads (one per hidden unit j) read consecutive addresses.</summary>
    public static void FuseRecurrentWeights(Index1D e, CellDims d, ArrayView<float> wh, ArrayView<float> wg, ArrayView<float> wrT)
    {
        int gh = d.GH, h = d.H;
        int k = e / gh, r = e % gh;
        wrT[e] = r < 4 * h ? wh[(long)r * h + k] : wg[(long)(r - 4 * h) * h + k];
    }

    /// <summary>db[c] += Σ_rows a[row, c]: one thread per column, rows in order (deterministic).</summary>
    public static void AddColumnSums(Index1D c, int rows, int cols, ArrayView<float> a, ArrayView<float> db)
    {
        float sum = 0f;
        for (int r = 0; r < rows; r++) sum += a[(long)r * cols + c];
        db[c] += sum;
    }

    /// <summary>partial[chunk, c] = Σ a[r, c] over the chunk's rows, in row order.</summary>
    public static void ColumnSumsPartial(Index2D e, int rows, int cols, int chunkRows, ArrayView<float> a, ArrayView<float> partial)
    {
        int c = e.X, chunk = e.Y;
        int end = rows < (chunk + 1) * chunkRows ? rows : (chunk + 1) * chunkRows;
        float sum = 0f;
        for (int r = chunk * chunkRows; r < end; r++) sum += a[(long)r * cols + c];
        partial[(long)chunk * cols + c] = sum;
    }

    /// <summary>partial[g] = Σ x² over group g's contiguous chunk; a fixed tree, so the norm is deterministic.</summary>
    public static void SumSquaresPartial(int chunk, ArrayView<float> x, ArrayView<float> partial)
    {
        var acc = SharedMemory.Allocate<float>(GroupSize);
        int tid = Group.IdxX;
        long start = (long)Grid.IdxX * chunk, end = XMin(start + chunk, x.Length);
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

    public const int GroupSize = 64;
    private static long XMin(long a, long b) => a < b ? a : b;
}

/// <summary>Scalars of one Adam step (SPEC D11, Model/Adam.cs): the clip scale and the bias corrections are
/// computed on the host from the global norm.</summary>
public struct AdamArgs
{
    public float LearningRate, Beta1, Beta2, Epsilon;
    /// <summary>Gradient multiplier from global-norm clipping (1 when not clipped).</summary>
    public float Scale;
    /// <summary>1/(1−β1^t) and 1/(1−β2^t).</summary>
    public float C1, C2;
}

/// <summary>Adam over the flat buffer, one thread per parameter; the same rule as <c>Alpine.Model.Adam.Step</c>.</summary>
public static class AdamKernel
{
    public static void Step(Index1D i, AdamArgs a, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v)
    {
        float gi = g[i] * a.Scale;
        float mi = a.Beta1 * m[i] + (1f - a.Beta1) * gi;
        float vi = a.Beta2 * v[i] + (1f - a.Beta2) * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] -= a.LearningRate * (mi * a.C1) / (ILGPU.Algorithms.XMath.Sqrt(vi * a.C2) + a.Epsilon);
    }
}
