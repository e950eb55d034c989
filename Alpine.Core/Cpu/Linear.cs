using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Alpine.Cpu;

/// <summary>
/// y = W x + b for a batch of rows: the products inside the MLP heads (SPEC D8) and the bilinear attention
/// query (SPEC D7), as GEMMs (<see cref="Gemm"/>, whose sums never depend on the thread split, SPEC D13).
/// </summary>
public static class Linear
{
    /// <summary>
    /// y[r,:] = W x[r,:] + bias (bias may be empty). <paramref name="parallel"/> false keeps the product on the
    /// calling thread, for callers that already run one target per thread (the baselines).
    /// </summary>
    public static void Forward<T>(Span<T> y /*(R,O)*/, ReadOnlySpan<T> x /*(R,I)*/, ReadOnlySpan<T> w /*(O,I)*/, ReadOnlySpan<T> bias /*(O) or empty*/, int outputs,
        bool parallel = true)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int inputs = w.Length / outputs, rows = y.Length / outputs;
        for (int r = 0; r < rows; r++)
            if (bias.IsEmpty) y.Slice(r * outputs, outputs).Clear(); else bias.CopyTo(y.Slice(r * outputs, outputs));
        Gemm.Multiply(y, outputs, x, inputs, false, w, inputs, true, rows, outputs, inputs, accumulate: true, parallel);
    }

    /// <summary>
    /// dx[r,:] += Σ_k dy[r,k] W[k,:] (accumulated: x is a fan-in point in every use); dW += dyᵀ x and
    /// dbias[k] += Σ_r dy[r,k] (dbias may be empty), summed over rows in order. <paramref name="parallel"/> as in
    /// <see cref="Forward{T}"/>.
    /// </summary>
    public static void Backward<T>(Span<T> dx /*(R,I) or empty*/, Span<T> dw /*(O,I)*/, Span<T> dbias /*(O) or empty*/,
        ReadOnlySpan<T> dy /*(R,O)*/, ReadOnlySpan<T> x /*(R,I)*/, ReadOnlySpan<T> w /*(O,I)*/, int outputs, bool parallel = true)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int inputs = w.Length / outputs, rows = dy.Length / outputs;
        if (!dx.IsEmpty) Gemm.Multiply(dx, inputs, dy, outputs, false, w, inputs, false, rows, inputs, outputs, accumulate: true, parallel);
        Gemm.Multiply(dw, inputs, dy, outputs, true, x, inputs, false, outputs, inputs, rows, accumulate: true, parallel);
        if (!dbias.IsEmpty) AddRows(dbias, dy, rows);
    }

    /// <summary>
    /// sum[k] += Σ_r rows[r, k], each element's sum in row order (the same bits as adding row after row), a
    /// vector of columns at a time: a call per row costs more in dispatch than in arithmetic at a head's widths.
    /// </summary>
    internal static void AddRows<T>(Span<T> sum, ReadOnlySpan<T> rowsOf, int rows) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int cols = sum.Length, k = 0, w = Vector512<T>.Count;
        ref T s = ref MemoryMarshal.GetReference(sum);
        ref T y = ref MemoryMarshal.GetReference(rowsOf);
        if (Vector512.IsHardwareAccelerated)
            for (; k <= cols - w; k += w)
            {
                var acc = Vector512.LoadUnsafe(ref s, (nuint)k);
                for (int r = 0; r < rows; r++) acc += Vector512.LoadUnsafe(ref y, (nuint)((long)r * cols + k));
                acc.StoreUnsafe(ref s, (nuint)k);
            }
        for (; k < cols; k++)
        {
            T acc = sum[k];
            for (int r = 0; r < rows; r++) acc += rowsOf[r * cols + k];
            sum[k] = acc;
        }
    }
}
