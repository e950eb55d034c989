using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// LSTM-R (the paper's Sec. 4.3 baseline list): an <see cref="Lstm"/> over the visual vectors of the user's ≤ W most
/// recent clicks before the impression, its last hidden state through a fully connected layer to the interest
/// r = W_r h_n + b_r, then the ALPINE-style MLP (SPEC D8) over [r ; t] with t the target's
/// <see cref="ItemProjection"/> ("we fed the interest representations and the embedding of the new micro-video into
/// the MLP layer", Sec. 4.3). docs/BASELINES.md "LSTM-R".
/// </summary>
public sealed class LstmR : BaselineNet
{
    private readonly Lstm _lstm;
    private readonly Tower _interest, _head;
    private readonly ItemProjection _item;
    private readonly int _dim;

    public LstmR(ItemTable items, int window = 50, int dim = 64, int hidden = 64, int mlpHidden = 128) : base(items, window)
    {
        _dim = dim;
        _lstm = new Lstm(Layout, "lstmr.lstm", items.VisualDim, hidden);
        _interest = new Tower(Layout, "lstmr.interest", hidden, dim);
        _item = new ItemProjection(Layout, "lstmr.item", items.VisualDim, dim);
        _head = new Tower(Layout, "lstmr.head", 2 * dim, mlpHidden, 1);
    }

    protected override void InitialiseMore(Span<float> p) => _lstm.InitialiseForgetBias(p);

    // act: X (n+1, D) with the target last, LSTM (n steps), interest (d), head input [r ; t] (2d), head activations
    private int OffLstm => (Window + 1) * VisualDim;
    private int OffInterest => OffLstm + _lstm.ActivationSize(Window);
    private int OffHin => OffInterest + _interest.ActivationSize(1);
    private int OffHead => OffHin + 2 * _dim;
    public override int ActivationSize => OffHead + _head.ActivationSize(1);
    // scratch: dHin (2d), dh_n (H), then the largest of the layers' scratch
    public override int ScratchSize => 2 * _dim + _lstm.Hidden
        + Math.Max(_lstm.ScratchSize(Window), Math.Max(_interest.ScratchSize(1), _head.ScratchSize(1)));

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        int n = t.Clicks.Length, dv = VisualDim, d = _dim;
        Span<T> x = act[..((n + 1) * dv)];
        Features(x[..(n * dv)], t.Clicks);
        Features(x[(n * dv)..], [t.Item]);
        Span<T> lstm = act.Slice(OffLstm, _lstm.ActivationSize(n));
        _lstm.Forward(p, x[..(n * dv)], lstm, n);
        Span<T> hN = stackalloc T[_lstm.Hidden];
        hN.Clear();
        _lstm.Last<T>(lstm, n).CopyTo(hN);
        Span<T> interest = act.Slice(OffInterest, _interest.ActivationSize(1)), hin = act.Slice(OffHin, 2 * d);
        _interest.Forward(p, hN, interest, 1);
        interest.CopyTo(hin);
        _item.Forward(p, x[(n * dv)..], hin[d..]);
        Span<T> head = act.Slice(OffHead, _head.ActivationSize(1));
        _head.Forward(p, hin, head, 1);
        return _head.Output(head, 1)[0];
    }

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        int n = t.Clicks.Length, dv = VisualDim, d = _dim, hidden = _lstm.Hidden;
        ReadOnlySpan<T> x = act[..((n + 1) * dv)], lstm = act.Slice(OffLstm, _lstm.ActivationSize(n));
        ReadOnlySpan<T> interest = act.Slice(OffInterest, _interest.ActivationSize(1)), hin = act.Slice(OffHin, 2 * d);
        Span<T> dHin = scratch[..(2 * d)], dhN = scratch.Slice(2 * d, hidden), layerScratch = scratch[(2 * d + hidden)..];

        dHin.Clear();
        _head.Backward(p, g, dHin, [dlogit], hin, act.Slice(OffHead, _head.ActivationSize(1)), layerScratch, 1);
        _item.Backward(p, g, dHin[d..], x[(n * dv)..]);
        Span<T> hN = stackalloc T[hidden];
        hN.Clear();
        _lstm.Last(lstm, n).CopyTo(hN);
        dhN.Clear();
        _interest.Backward(p, g, dhN, dHin[..d], hN, interest, layerScratch, 1);
        _lstm.Backward(p, g, dhN, x[..(n * dv)], lstm, layerScratch, n);
    }
}
