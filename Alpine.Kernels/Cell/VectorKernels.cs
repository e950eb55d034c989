using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>Small kernels around the cell: weight re-layout, bias gradients.</summary>
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
}
