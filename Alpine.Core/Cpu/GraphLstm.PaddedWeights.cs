using System.Numerics.Tensors;

namespace Alpine.Cpu;

/// <summary>The padded weight copies of <see cref="GraphLstm{T}"/>: every gate block Hs rows (H rounded up to whole
/// Vector512s) with zero pad rows, their transposes for the forward, and the way back from the padded
/// gradient sums to the caller's unpadded gradients.</summary>
public sealed partial class GraphLstm<T>
{
    // Padded weight copies, rebuilt from the caller's weights by each Forward / Backward.
    private readonly T[] _wxRows;       // (G·Hs, D) Wx, zero pad rows: B operand of dx
    private readonly T[] _wxT;          // (D, G·Hs) its transpose: B operand of the input GEMM
    private readonly T[] _wxPanels;     // _wxT in the packed kernel's panels (where WxPanels): the input GEMM's B, packed once a Forward
    /// <summary>Whether the input projection reads Wxᵀ from <see cref="_wxPanels"/> rather than packing it per time block (~1 % of the layer).</summary>
    private bool WxPanels => Gemm.RunsPanels && D <= 4 * Gemm.KC;
    private readonly T[] _bPad;         // (G·Hs) b, zero pads: the cell adds it to the input part
    private readonly T[] _whRows, _wgRows; // (4Hs, H) Wh, Wg: B operands of dh_{t−1}, dh*
    private readonly T[] _whT, _wgT;    // (H, 4Hs) their transposes, row stride RecStride: B operands of the forward steps
    /// <summary>The padded copies of the caller's weights: gate block q, unit k → row q·Hs + k; pads zero;
    /// with <paramref name="transposed"/> also their transposes (the forward's B operands).</summary>
    private void PadWeights(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b, bool transposed)
    {
        int hs = _hs;
        for (int q = 0; q < G; q++)
            for (int k = 0; k < hs; k++)
            {
                var row = _wxRows.AsSpan((q * hs + k) * D, D);
                if (k < H)
                {
                    wx.Slice((q * H + k) * D, D).CopyTo(row);
                    _bPad[q * hs + k] = b[q * H + k];
                }
                else
                {
                    row.Clear();
                    _bPad[q * hs + k] = T.Zero;
                }
            }
        PadRows(_whRows, wh);
        if (UseGraph) PadRows(_wgRows, wg);
        if (!transposed) return;
        Gemm.Transpose<T>(_wxT, _wxRows, G * hs, D, D);
        Gemm.Transpose<T>(_whT, _whRows, 4 * hs, H, H, RecStride);
        if (UseGraph) Gemm.Transpose<T>(_wgT, _wgRows, 4 * hs, H, H, RecStride);
    }

    /// <summary>
    /// The row stride of <see cref="_whT"/> and <see cref="_wgT"/>: 4Hs and one vector more. The per-step product reads
    /// a 64-column panel of them in place, k rows down; at 4Hs alone (1 KiB at H = 64: 16 cache lines) those rows
    /// fall into 16 of L1's 64 sets and the panel, 16 KiB, is evicted before the next row tile reuses it. 4Hs values
    /// are always a multiple of 4 lines (Hs is whole vectors), so one vector more makes the stride an odd number of
    /// lines, which spreads a panel over every set. The pad columns are never read.
    /// </summary>
    private int RecStride => 4 * _hs + Simd<T>.Width;

    /// <summary>(4H, H) → (4Hs, H) with zero pad rows.</summary>
    private void PadRows(T[] dst, ReadOnlySpan<T> src)
    {
        for (int q = 0; q < 4; q++)
            for (int k = 0; k < _hs; k++)
            {
                var row = dst.AsSpan((q * _hs + k) * H, H);
                if (k < H) src.Slice((q * H + k) * H, H).CopyTo(row); else row.Clear();
            }
    }


    /// <summary>
    /// The caller's gradients += the unpadded rows of the summed padded ones: gate row q·H + k's dWx row and
    /// dWh / dWg row out of the two weight-gradient halves (group 0's slot of <see cref="_dwGroups"/>), and db
    /// out of the first sequence's row of <see cref="_dbSeq"/>.
    /// </summary>
    private void AddUnpadded(Span<T> dwx, Span<T> dwh, Span<T> dwg, Span<T> db)
    {
        int hs = _hs, rec = 4 * hs, wide = hs + D;
        for (int q = 0; q < G; q++)
        {
            for (int k = 0; k < H; k++)
            {
                int row = (q % 4 * hs + k) * wide;
                var half = _dwGroups;
                var (xAt, hAt) = q < 4 ? (row + hs, row) : (rec * wide + row, rec * wide + row + D);
                var grad = dwx.Slice((q * H + k) * D, D);
                TensorPrimitives.Add(grad, half.AsSpan(xAt, D), grad);
                var rgrad = (q < 4 ? dwh : dwg).Slice((q % 4 * H + k) * H, H);
                TensorPrimitives.Add(rgrad, half.AsSpan(hAt, H), rgrad);
            }
            var bias = db.Slice(q * H, H);
            TensorPrimitives.Add(bias, _dbSeq.AsSpan(q * hs, H), bias);
        }
    }
}
