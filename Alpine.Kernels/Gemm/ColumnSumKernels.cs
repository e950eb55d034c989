using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Gemm;

/// <summary>Column sums of a row-major matrix (bias gradients): per-chunk partials, then the chunks in order.</summary>
public static class ColumnSumKernels
{
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
