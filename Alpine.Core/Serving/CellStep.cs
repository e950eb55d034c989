using System.Numerics.Tensors;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// One step of the graph-LSTM (paper Eq. 2, SPEC D4–D6) for one sequence, in float on unpadded H-long rows: the
/// step <see cref="AlpineModel.Observe"/> adds to a cached state, and the step that encodes a user's sequence at
/// load, so an incremental state and a re-encoded one come from one piece of arithmetic (bit-identical).
/// It computes what <c>Cpu.GraphLstm</c> computes, gate for gate; that layer's fused, padded, batched form sums
/// in another order, so the two agree to float rounding, not bit for bit.
/// The weights are kept transposed ([D, G·H], [H, 4H]) so each product is a run of contiguous multiply-adds.
/// </summary>
internal sealed class CellStep
{
    public CellStep(ModelConfig config, BranchTensors t, float[] p)
    {
        D = config.ItemDim; H = config.HiddenSize; UseGraph = config.UsesGraph; CStar = config.CStar;
        G = ModelLayout.Gates(UseGraph);
        _wxT = Transpose(t.Wx.Of(p), G * H, D);
        _whT = Transpose(t.Wh.Of(p), 4 * H, H);
        _wgT = t.Wg is { } wg ? Transpose(wg.Of(p), 4 * H, H) : [];
        _b = t.B.Of(p).ToArray();
    }

    public int D { get; }
    public int H { get; }
    public int G { get; }
    public bool UseGraph { get; }
    public CStarReading CStar { get; }

    private readonly float[] _wxT, _whT, _wgT, _b;   // (D, G·H), (H, 4H), (H, 4H), (G·H)

    /// <summary>
    /// h_t, c_t and c*_t from x_t, the previous step's h and c (empty at t = 0: zero, SPEC D6), the graph state
    /// h* and c*_prev (already the means over the valid t*, SPEC D4, D5; zero when there is none).
    /// <paramref name="gates"/> (G·H) is scratch.
    /// </summary>
    public void Forward(Span<float> h, Span<float> c, Span<float> cStar, Span<float> gates,
        ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> hStar, ReadOnlySpan<float> cStarPrev)
    {
        int hh = H, gh = G * hh;
        _b.CopyTo(gates);
        for (int k = 0; k < D; k++) TensorPrimitives.MultiplyAdd(_wxT.AsSpan(k * gh, gh), x[k], gates, gates);
        var seq = gates[..(4 * hh)];
        if (!hPrev.IsEmpty)
            for (int k = 0; k < hh; k++) TensorPrimitives.MultiplyAdd(_whT.AsSpan(k * 4 * hh, 4 * hh), hPrev[k], seq, seq);
        TensorPrimitives.Sigmoid(seq[..(3 * hh)], seq[..(3 * hh)]);
        TensorPrimitives.Tanh(seq[(3 * hh)..], seq[(3 * hh)..]);
        var i = seq[..hh]; var f = seq.Slice(hh, hh); var o = seq.Slice(2 * hh, hh); var u = seq.Slice(3 * hh, hh);
        // c = i ⊙ u + f ⊙ c_{t−1}; h = o ⊙ tanh(c)
        TensorPrimitives.Multiply(i, u, c);
        if (!cPrev.IsEmpty) TensorPrimitives.MultiplyAdd(f, cPrev, c, c);
        TensorPrimitives.Tanh(c, h);
        TensorPrimitives.Multiply(h, o, h);
        if (!UseGraph) return;

        var gr = gates[(4 * hh)..];
        for (int k = 0; k < hh; k++) TensorPrimitives.MultiplyAdd(_wgT.AsSpan(k * 4 * hh, 4 * hh), hStar[k], gr, gr);
        TensorPrimitives.Sigmoid(gr[..(3 * hh)], gr[..(3 * hh)]);
        TensorPrimitives.Tanh(gr[(3 * hh)..], gr[(3 * hh)..]);
        var si = gr[..hh]; var sf = gr.Slice(hh, hh); var so = gr.Slice(2 * hh, hh); var su = gr.Slice(3 * hh, hh);
        // c* = i* ⊙ u* + f* ⊙ c*_prev; h += o* ⊙ tanh(c*). u* is spent, so it holds tanh(c*).
        TensorPrimitives.Multiply(si, su, cStar);
        TensorPrimitives.MultiplyAdd(sf, cStarPrev, cStar, cStar);
        TensorPrimitives.Tanh(cStar, su);
        TensorPrimitives.MultiplyAdd(so, su, h, h);
    }

    private static float[] Transpose(ReadOnlySpan<float> w, int rows, int cols)
    {
        var t = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++) t[k * rows + r] = w[r * cols + k];
        return t;
    }
}
