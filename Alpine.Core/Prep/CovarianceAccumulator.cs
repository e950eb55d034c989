using System.Diagnostics;

namespace Alpine.Prep;

/// <summary>
/// Mean and covariance of a stream of d-dimensional rows, accumulated chunk by chunk in float64 (SPEC D3).
/// Rows are shifted by the first chunk's mean before accumulating Σy and Σyyᵀ, so the final
/// <c>(Σyyᵀ − Σy Σyᵀ / n) / (n − 1)</c> does not cancel catastrophically when the features sit far from 0.
/// Memory: the d×d upper triangle (32 MB at d = 2048) plus one chunk.
/// </summary>
public sealed class CovarianceAccumulator
{
    /// <summary>Rows per rank-k update: Yt [d, Chunk] doubles stays in L2/L3 while the triangle is swept.</summary>
    public const int Chunk = 128;

    private readonly int _d;
    private readonly double[] _q;      // (d,d) row-major, upper triangle (i ≤ j) valid: Σ y yᵀ
    private readonly double[] _sum;    // (d) Σ y
    private readonly double[] _yt;     // (d,Chunk) the current chunk, transposed, shifted
    private double[]? _shift;          // (d)
    private long _n;

    public CovarianceAccumulator(int d)
    {
        _d = d;
        _q = new double[checked(d * d)];
        _sum = new double[d];
        _yt = new double[checked(d * Chunk)];
    }

    public long Count => _n;

    /// <summary>Adds <c>rows.Length / d</c> rows (row-major float32).</summary>
    public void Add(ReadOnlySpan<float> rows)
    {
        if (rows.Length % _d != 0) throw new ArgumentException($"length {rows.Length} is not a multiple of d = {_d}", nameof(rows));
        int count = rows.Length / _d;
        if (count == 0) return;
        if (_shift is null)
        {
            _shift = new double[_d];
            for (int r = 0; r < count; r++) for (int i = 0; i < _d; i++) _shift[i] += rows[r * _d + i];
            for (int i = 0; i < _d; i++) _shift[i] /= count;
        }
        for (int r0 = 0; r0 < count; r0 += Chunk)
        {
            int b = Math.Min(Chunk, count - r0);
            // Transpose + shift into Yt; columns b..Chunk stay 0 (they add nothing to the sums).
            Array.Clear(_yt);
            for (int r = 0; r < b; r++)
            {
                var row = rows.Slice((r0 + r) * _d, _d);
                for (int i = 0; i < _d; i++)
                {
                    double y = row[i] - _shift[i];
                    _yt[i * Chunk + r] = y;
                    _sum[i] += y;
                }
            }
            SyrkUpper(_q, _yt, _d, Chunk);
            _n += b;
        }
    }

    /// <summary>The mean (d) and the full symmetric covariance (d,d) row-major, divided by n − 1.</summary>
    public (double[] Mean, double[] Covariance) Finish()
    {
        if (_n == 0) throw new InvalidOperationException("no rows were added");
        int d = _d;
        var mean = new double[d];
        for (int i = 0; i < d; i++) mean[i] = _shift![i] + _sum[i] / _n;
        var cov = new double[d * d];
        double denom = Math.Max(1, _n - 1);
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++)
            {
                double c = (_q[i * d + j] - _sum[i] * _sum[j] / _n) / denom;
                cov[i * d + j] = c;
                cov[j * d + i] = c;
            }
        return (mean, cov);
    }

    /// <summary>
    /// Effectively computes <c>q[i,j] += Σ_r yt[i,r]·yt[j,r]</c> for i ≤ j (a symmetric rank-k update, k = cols),
    /// by blocks of 4 rows i × 2 rows j (<see cref="DotBlock.Dot4x2"/>). Row blocks of i run in parallel and
    /// each entry is summed in a fixed order, so the result does not depend on the thread count. Entries
    /// below the diagonal inside diagonal blocks are written too (callers read only i ≤ j).
    /// </summary>
    internal static void SyrkUpper(double[] q, double[] yt, int d, int cols)
    {
        Debug.Assert(yt.Length >= d * cols && q.Length == d * d);
        Parallel.For(0, (d + 3) / 4, ib =>
        {
            int i0 = ib * 4;
            if (i0 + 4 > d)
            {
                for (int i = i0; i < d; i++) for (int j = i; j < d; j++) q[i * d + j] += Dot(yt, i, j, cols);
                return;
            }
            Span<double> r = stackalloc double[8];
            int jj = i0;
            for (; jj + 1 < d; jj += 2)
            {
                DotBlock.Dot4x2<double>(r, yt, i0 * cols, cols, yt, jj * cols, cols, cols);
                for (int a = 0; a < 4; a++) { q[(i0 + a) * d + jj] += r[2 * a]; q[(i0 + a) * d + jj + 1] += r[2 * a + 1]; }
            }
            if (jj < d) for (int i = i0; i < i0 + 4; i++) q[i * d + jj] += Dot(yt, i, jj, cols);
        });
    }

    private static double Dot(double[] yt, int i, int j, int cols) =>
        System.Numerics.Tensors.TensorPrimitives.Dot(yt.AsSpan(i * cols, cols), yt.AsSpan(j * cols, cols));
}
