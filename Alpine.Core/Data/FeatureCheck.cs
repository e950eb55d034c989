using System.Globalization;
using System.Numerics.Tensors;

namespace Alpine.Data;

/// <summary>
/// The feature values float32 training can use (docs/FORMATS.md, <c>items.npy</c>): finite, and every row's
/// Euclidean norm at most <see cref="MaxRowNorm"/> = 2⁶⁰ ≈ 1.15·10¹⁸. PCA centres and rotates the rows, which at
/// most doubles a norm; the edge metric and the model then form squared distances, dot products and squared
/// gradients of those vectors, which stay below (2·2·2⁶⁰)² = 2¹²⁴, 16 times under float32's largest value 2¹²⁸.
/// A larger row would turn them into infinities: a loss in the 10³³ range and a useless model.
/// </summary>
public static class FeatureCheck
{
    /// <summary>2⁶⁰.</summary>
    public const double MaxRowNorm = 1152921504606846976.0;

    /// <summary>
    /// The first problem in <paramref name="rows"/> (row-major, <paramref name="cols"/> wide, the first being row
    /// <paramref name="firstRow"/> of its file) as an error text naming row and column, or null when all are usable.
    /// </summary>
    public static string? Problem(ReadOnlySpan<float> rows, int cols, long firstRow)
    {
        int bad = TensorPrimitives.IndexOfMaxMagnitude(rows);
        if (bad < 0) return null;
        float top = rows[bad];
        if (!float.IsFinite(top))
            return $"row {firstRow + bad / cols} (0-based) column {bad % cols} holds {F(top)}; expected finite features";
        // The largest magnitude times √cols bounds every row's norm: the common case needs no per-row pass.
        if (Math.Abs((double)top) * Math.Sqrt(cols) <= MaxRowNorm) return null;
        for (int r = 0; r * cols < rows.Length; r++)
        {
            var row = rows.Slice(r * cols, cols);
            double sq = 0;
            foreach (float v in row) sq += (double)v * v;
            double norm = Math.Sqrt(sq);
            if (norm <= MaxRowNorm) continue;
            int c = TensorPrimitives.IndexOfMaxMagnitude(row);
            return $"row {firstRow + r} (0-based) column {c} holds {F(row[c])} and the row's norm is {norm.ToString("G3", CultureInfo.InvariantCulture)}, " +
                "above 2^60 ≈ 1.15e18 where float32 training overflows; scale the features down (divide every value by one " +
                "factor, e.g. the largest row norm) or fix that row";
        }
        return null;
    }

    private static string F(float v) => v.ToString(CultureInfo.InvariantCulture);
}
