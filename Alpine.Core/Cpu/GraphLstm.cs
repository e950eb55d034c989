using System.Numerics;
using Alpine.Model;

namespace Alpine.Cpu;

// TEMPORARY stand-in with the `lstm` branch's contract, so the whole model compiles and its gradient can be
// checked before that branch is merged: h_t = tanh(first H rows of W_x x_t + b), no recurrence. Replaced by
// the real graph-LSTM on merge.
public sealed class GraphLstm<T>(int D, int H, bool useGraph, CStarReading cstar, int topL) where T : unmanaged, IFloatingPointIeee754<T>
{
    public void Forward(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b, SequenceSet seqs, ReadOnlySpan<T> x, Span<T> h)
    {
        _ = (useGraph, cstar, topL);
        for (int t = 0; t < seqs.TotalSteps; t++)
            for (int k = 0; k < H; k++)
                h[t * H + k] = T.Tanh(System.Numerics.Tensors.TensorPrimitives.Dot(wx.Slice(k * D, D), x.Slice(t * D, D)) + b[k]);
    }

    public void Backward(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b, SequenceSet seqs, ReadOnlySpan<T> x,
        ReadOnlySpan<T> dh, Span<T> dx, Span<T> dwx, Span<T> dwh, Span<T> dwg, Span<T> db)
    {
        dx.Clear();
        for (int t = 0; t < seqs.TotalSteps; t++)
            for (int k = 0; k < H; k++)
            {
                T a = T.Tanh(System.Numerics.Tensors.TensorPrimitives.Dot(wx.Slice(k * D, D), x.Slice(t * D, D)) + b[k]);
                T g = dh[t * H + k] * (T.One - a * a);
                db[k] += g;
                for (int i = 0; i < D; i++) { dwx[k * D + i] += g * x[t * D + i]; dx[t * D + i] += g * wx[k * D + i]; }
            }
    }
}
