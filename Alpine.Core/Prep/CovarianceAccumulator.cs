using System.Numerics.Tensors;

namespace Alpine.Prep;

/// <summary>
/// Mean and covariance of a stream of d-dimensional rows (SPEC D3). Rows are shifted by the first <see cref="Add"/>
/// call's mean, so the final <c>(Σyyᵀ − Σy Σyᵀ / n) / (n − 1)</c> does not cancel catastrophically when the features
/// sit far from 0. Σy is summed in float64. Σyyᵀ is summed in blocks of <see cref="Block"/> rows: within a block by
/// float32 fused multiply-adds (the inputs are float32; <see cref="GramPanels"/>, twice the SIMD lanes of float64),
/// across blocks in float64, so the rounding is that of a 256-term float32 sum (relative ~1e-6 of Σ|yᵢyⱼ|, far inside
/// the eigen-gaps a PCA can resolve) and does not grow with the row count. Blocks are cut every 256 rows of the whole
/// stream, so the result does not depend on how the rows are split over calls.
/// Memory: the padded d×d float64 matrix (32 MB at d = 2048) plus one block of panels (2 MB).
/// </summary>
public sealed class CovarianceAccumulator
{
    /// <summary>Rows per float32 block.</summary>
    public const int Block = 256;

    private readonly int _d, _dp;
    private readonly double[] _q;      // (dp,dp) row-major, upper triangle (i ≤ j) valid: Σ y yᵀ
    private readonly double[] _sum;    // (d) Σ y
    private readonly double[] _y64;    // (d) one shifted row
    private readonly float[] _y;       // (d) the same, rounded
    private readonly float[] _panels;  // the current block as GramPanels panels [dp/32][Block][32]
    private int _pending;              // rows of the current block filled
    private double[]? _shift;          // (d)
    private long _n;

    public CovarianceAccumulator(int d)
    {
        _d = d;
        _dp = GramPanels.Padded(d);
        _q = new double[checked(_dp * _dp)];
        _sum = new double[d];
        _y = new float[d];
        _y64 = new double[d];
        _panels = new float[checked(_dp * Block)];
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
            var first = new double[_d];
            for (int r = 0; r < count; r++) for (int i = 0; i < _d; i++) first[i] += rows[r * _d + i];
            _shift = new double[_d];
            for (int i = 0; i < _d; i++) _shift[i] = first[i] / count;
        }
        for (int r = 0; r < count; r++)
        {
            // y in float64 (exact) for Σy, rounded to float32 for the products.
            TensorPrimitives.ConvertTruncating<float, double>(rows.Slice(r * _d, _d), _y64);
            TensorPrimitives.Subtract(_y64, _shift, _y64);
            TensorPrimitives.Add(_sum, _y64, _sum);
            TensorPrimitives.ConvertTruncating<double, float>(_y64, _y);
            for (int i0 = 0; i0 < _d; i0 += GramPanels.Width)
                _y.AsSpan(i0, Math.Min(GramPanels.Width, _d - i0)).CopyTo(_panels.AsSpan(i0 * Block + _pending * GramPanels.Width));
            _n++;
            if (++_pending == Block) Flush();
        }
    }

    /// <summary>The mean (d) and the full symmetric covariance (d,d) row-major, divided by n − 1.</summary>
    public (double[] Mean, double[] Covariance) Finish()
    {
        if (_n == 0) throw new InvalidOperationException("no rows were added");
        Flush();
        int d = _d;
        var mean = new double[d];
        for (int i = 0; i < d; i++) mean[i] = _shift![i] + _sum[i] / _n;
        var cov = new double[d * d];
        double denom = Math.Max(1, _n - 1);
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++)
            {
                double c = (_q[i * _dp + j] - _sum[i] * _sum[j] / _n) / denom;
                cov[i * d + j] = c;
                cov[j * d + i] = c;
            }
        return (mean, cov);
    }

    private void Flush()
    {
        if (_pending == 0) return;
        // Rows past _pending are not read, and the padding columns are never written, so the panels need no clearing.
        GramPanels.AddUpper(_q, _panels, _dp, Block, _pending);
        _pending = 0;
    }
}
