using System.Numerics.Tensors;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// LSTM-R (the paper's Sec. 4.3 baseline list): an <see cref="Lstm"/> over the visual vectors of the user's clicks
/// before the impression (the whole prepared click sequence, as ALPINE reads it, SPEC D2), its last hidden state
/// through a fully connected layer to the interest r = W_r h + b_r, then the ALPINE-style MLP (SPEC D8) over [r ; t]
/// with t the target's <see cref="ItemProjection"/> ("we fed the interest representations and the embedding of the
/// new micro-video into the MLP layer", Sec. 4.3). A group's targets read states of one LSTM run over their user's
/// clicks up to the latest prefix among them, as ALPINE's SharedPrefix (SPEC D12). docs/BASELINES.md "LSTM-R".
/// </summary>
public sealed class LstmR : BaselineNet
{
    private readonly Lstm _lstm;
    private readonly Tower _interest, _head;
    private readonly ItemProjection _item;
    private readonly int _dim;

    public LstmR(ItemTable items, int dim = 64, int hidden = 64, int mlpHidden = 128) : base(items, window: int.MaxValue)
    {
        _dim = dim;
        _lstm = new Lstm(Layout, "lstmr.lstm", items.VisualDim, hidden);
        _interest = new Tower(Layout, "lstmr.interest", hidden, dim);
        _item = new ItemProjection(Layout, "lstmr.item", items.VisualDim, dim);
        _head = new Tower(Layout, "lstmr.head", 2 * dim, mlpHidden, 1);
    }

    protected override void InitialiseMore(Span<float> p) => _lstm.InitialiseForgetBias(p);

    // group act: X (s, D) the clicks, the LSTM's s steps, then per target: x_t (D), h (H), interest, head input [r ; t] (2d), head
    private int TargetBlock => VisualDim + _lstm.Hidden + _interest.ActivationSize(1) + 2 * _dim + _head.ActivationSize(1);
    private int OffTargets(int steps) => steps * VisualDim + _lstm.ActivationSize(steps);

    /// <summary>The steps a group needs: its latest prefix, in clicks of its user.</summary>
    private static int Steps(ImpressionTargets targets, ReadOnlySpan<int> positions)
    {
        int steps = 0;
        foreach (int q in positions) steps = Math.Max(steps, targets.Data.ClickHistEnd[q]);
        return steps;
    }

    public override void ForwardGroup<T>(ReadOnlySpan<T> p, ImpressionTargets targets, ReadOnlySpan<int> positions, Span<T> logits, GroupWork<T> work)
    {
        PreparedData data = targets.Data;
        int steps = Steps(targets, positions), dv = VisualDim, d = _dim, hidden = _lstm.Hidden;
        int first = data.ClickOffsets[targets.UserOf[positions[0]]];
        Span<T> act = work.Activations(OffTargets(steps) + positions.Length * TargetBlock);
        Span<T> x = act[..(steps * dv)], lstm = act.Slice(steps * dv, _lstm.ActivationSize(steps));
        Features(x, data.ClickItem.AsSpan(first, steps));
        _lstm.Forward(p, x, lstm, steps);
        for (int k = 0; k < positions.Length; k++)
        {
            int q = positions[k], end = data.ClickHistEnd[q];
            Span<T> block = act.Slice(OffTargets(steps) + k * TargetBlock, TargetBlock);
            Span<T> xt = block[..dv], h = block.Slice(dv, hidden);
            Span<T> interest = block.Slice(dv + hidden, _interest.ActivationSize(1)), hin = block.Slice(dv + hidden + interest.Length, 2 * d);
            Span<T> head = block[(dv + hidden + interest.Length + 2 * d)..];
            if (end == 0) h.Clear(); else _lstm.State<T>(lstm, steps, end).CopyTo(h);
            Features(xt, [data.Item[q]]);
            _interest.Forward(p, h, interest, 1);
            interest.CopyTo(hin);
            _item.Forward(p, xt, hin[d..]);
            _head.Forward(p, hin, head, 1);
            logits[k] = _head.Output(head, 1)[0];
        }
    }

    public override void BackwardGroup<T>(ReadOnlySpan<T> p, Span<T> g, ImpressionTargets targets, ReadOnlySpan<int> positions,
        ReadOnlySpan<T> dlogits, GroupWork<T> work)
    {
        PreparedData data = targets.Data;
        int steps = Steps(targets, positions), dv = VisualDim, d = _dim, hidden = _lstm.Hidden;
        ReadOnlySpan<T> act = work.Activations(OffTargets(steps) + positions.Length * TargetBlock);
        ReadOnlySpan<T> x = act[..(steps * dv)], lstm = act.Slice(steps * dv, _lstm.ActivationSize(steps));
        // scratch: ∂loss/∂h_t (s, H), dHin (2d), dh (H), the largest of the layers' scratch
        Span<T> scratch = work.Scratch(steps * hidden + 2 * d + hidden
            + Math.Max(_lstm.ScratchSize(steps), Math.Max(_interest.ScratchSize(1), _head.ScratchSize(1))));
        Span<T> dStates = scratch[..(steps * hidden)], dHin = scratch.Slice(steps * hidden, 2 * d), dh = scratch.Slice(steps * hidden + 2 * d, hidden);
        Span<T> layerScratch = scratch[(steps * hidden + 2 * d + hidden)..];
        dStates.Clear();
        for (int k = 0; k < positions.Length; k++)
        {
            int end = data.ClickHistEnd[positions[k]];
            ReadOnlySpan<T> block = act.Slice(OffTargets(steps) + k * TargetBlock, TargetBlock);
            ReadOnlySpan<T> xt = block[..dv], h = block.Slice(dv, hidden);
            ReadOnlySpan<T> interest = block.Slice(dv + hidden, _interest.ActivationSize(1)), hin = block.Slice(dv + hidden + interest.Length, 2 * d);
            ReadOnlySpan<T> head = block[(dv + hidden + interest.Length + 2 * d)..];
            dHin.Clear();
            _head.Backward(p, g, dHin, [dlogits[k]], hin, head, layerScratch, 1);
            _item.Backward(p, g, dHin[d..], xt);
            dh.Clear();
            _interest.Backward(p, g, dh, dHin[..d], h, interest, layerScratch, 1);
            if (end > 0)
            {
                Span<T> row = dStates.Slice((end - 1) * hidden, hidden);
                TensorPrimitives.Add(row, dh, row);
            }
        }
        _lstm.Backward(p, g, dStates, x, lstm, layerScratch, steps);
    }
}
