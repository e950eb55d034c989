using System.Numerics;
using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// DIN (Zhou et al., KDD 2018): the user's interest in target t is v_U(t) = Σ_j w_j e_j over the embeddings e_j of
/// the ≤ W most recent clicks before the impression (Eq. 3's weighted sum pooling), the local activation unit
/// a(e_j, t) an MLP over [e_j ; t ; e_j − t ; e_j ⊙ t] (Fig. 2; the authors' code feeds the difference and product
/// where the figure draws the outer product). The unit's first layer is linear in that input, so it is written as
/// z_j = W_e e_j + W_t t + W_p (e_j ⊙ t) + b (the same functions: W_e = W₁ + W₃, W_t = W₂ − W₃ of the concatenated
/// form), which lets a group compute W_e e_j once per click of its user and W_t t once per target;
/// a(e_j, t) = w_oᵀ ReLU(z_j). The weights are the authors' code's (din/model.py <c>attention</c>):
/// w = softmax_j(a(e_j, t) / √d) over the history, where Eq. 3 leaves them unnormalised — a sum of up to W
/// unnormalised terms grows with the history and does not train at this scale (docs/BASELINES.md "DIN").
/// ŷ = MLP([u ; v_U(t) ; t]) with a free user embedding u. Items (history and target) share one
/// <see cref="ItemProjection"/> of the visual vector. ReLU where the paper uses Dice/PReLU, and no mini-batch-aware
/// regularisation.
/// </summary>
public sealed class Din : BaselineNet
{
    private readonly TensorSlot _user, _we, _b, _wt, _wp, _wo;
    private readonly ItemProjection _item;
    private readonly Tower _head;
    private readonly int _dim, _hidden;

    /// <param name="attentionHidden">The activation unit's hidden width.</param>
    /// <param name="headHidden">The head MLP's hidden widths (the paper's 200 × 80).</param>
    public Din(ItemTable items, int userCount, int window = 50, int dim = 64, int attentionHidden = 64, int[]? headHidden = null)
        : base(items, window)
    {
        _dim = dim;
        _hidden = attentionHidden;
        _user = Layout.Add("din.user", userCount, dim, TensorKind.Embedding);
        _item = new ItemProjection(Layout, "din.item", items.VisualDim, dim);
        _we = Layout.Add("din.attention.We", attentionHidden, dim, TensorKind.Weight);
        _b = Layout.Add("din.attention.b", 1, attentionHidden, TensorKind.Bias);
        _wt = Layout.Add("din.attention.Wt", attentionHidden, dim, TensorKind.Weight);
        _wp = Layout.Add("din.attention.Wp", attentionHidden, dim, TensorKind.Weight);
        // No output bias: the softmax over the history is blind to a shift.
        _wo = Layout.Add("din.attention.wo", 1, attentionHidden, TensorKind.Weight);
        _head = new Tower(Layout, "din.head", [3 * dim, .. headHidden ?? [200, 80], 1]);
    }

    /// <summary>The clicks a group reads: [lo, hi) in its user's click sequence, the union of its targets' windows.</summary>
    private (int Lo, int Hi) Reads(ImpressionTargets targets, ReadOnlySpan<int> positions)
    {
        int lo = int.MaxValue, hi = 0;
        foreach (int q in positions)
        {
            int end = targets.Data.ClickHistEnd[q];
            lo = Math.Min(lo, Math.Max(0, end - Window));
            hi = Math.Max(hi, end);
        }
        return (Math.Min(lo, hi), hi);
    }

    // group act: X (m, D), E (m, d), Ze = E W_eᵀ + b (m, h), then per target:
    // x_t (D), t (d), z_t = W_t t (h), P = E ⊙ t (W, d), H = ReLU(z) (W, h), w (W), head input [u ; v ; t] (3d), head
    private int TargetBlock => VisualDim + _dim + _hidden + Window * (_dim + _hidden + 1) + 3 * _dim + _head.ActivationSize(1);
    private int OffTargets(int m) => m * (VisualDim + _dim + _hidden);

    private T InverseSqrtDim<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T> => T.One / T.Sqrt(T.CreateTruncating(_dim));

    public override void ForwardGroup<T>(ReadOnlySpan<T> p, ImpressionTargets targets, ReadOnlySpan<int> positions, Span<T> logits, GroupWork<T> work)
    {
        PreparedData data = targets.Data;
        int d = _dim, h = _hidden, dv = VisualDim, user = targets.UserOf[positions[0]];
        var (lo, hi) = Reads(targets, positions);
        int m = hi - lo;
        Span<T> act = work.Activations(OffTargets(m) + positions.Length * TargetBlock);
        Span<T> x = act[..(m * dv)], e = act.Slice(m * dv, m * d), ze = act.Slice(m * (dv + d), m * h);
        Features(x, data.ClickItem.AsSpan(data.ClickOffsets[user] + lo, m));
        _item.Forward(p, x, e);
        Linear.Forward(ze, e, _we.Of(p), _b.Of(p), h, parallel: false);
        for (int k = 0; k < positions.Length; k++)
        {
            int q = positions[k], end = data.ClickHistEnd[q], start = Math.Max(0, end - Window), n = end - start;
            Block<T> b = new(act.Slice(OffTargets(m) + k * TargetBlock, TargetBlock), this);
            Features(b.Xt, [data.Item[q]]);
            _item.Forward(p, b.Xt, b.Tv);
            Linear.Forward(b.Zt, b.Tv, _wt.Of(p), [], h, parallel: false);
            Span<T> hin = b.Hin, v = hin.Slice(d, d);
            _user.Of(p).Slice(user * d, d).CopyTo(hin);
            v.Clear();
            b.Tv.CopyTo(hin[(2 * d)..]);
            if (n > 0)
            {
                ReadOnlySpan<T> en = e.Slice((start - lo) * d, n * d), zen = ze.Slice((start - lo) * h, n * h);
                Span<T> pr = b.P[..(n * d)], hid = b.H[..(n * h)], w = b.W[..n];
                for (int j = 0; j < n; j++) TensorPrimitives.Multiply(en.Slice(j * d, d), b.Tv, pr.Slice(j * d, d));
                Linear.Forward(hid, pr, _wp.Of(p), [], h, parallel: false);
                for (int j = 0; j < n; j++)
                {
                    Span<T> row = hid.Slice(j * h, h);
                    TensorPrimitives.Add(row, zen.Slice(j * h, h), row);
                    TensorPrimitives.Add(row, b.Zt, row);
                    TensorPrimitives.Max(row, T.Zero, row);
                    w[j] = TensorPrimitives.Dot(row, _wo.Of(p)) * InverseSqrtDim<T>();
                }
                TensorPrimitives.Subtract(w, TensorPrimitives.Max<T>(w), w); // exp never overflows
                TensorPrimitives.SoftMax<T>(w, w);
                for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(en.Slice(j * d, d), w[j], v, v);
            }
            _head.Forward(p, hin, b.Head, 1);
            logits[k] = _head.Output(b.Head, 1)[0];
        }
    }

    public override void BackwardGroup<T>(ReadOnlySpan<T> p, Span<T> g, ImpressionTargets targets, ReadOnlySpan<int> positions,
        ReadOnlySpan<T> dlogits, GroupWork<T> work)
    {
        PreparedData data = targets.Data;
        int d = _dim, h = _hidden, dv = VisualDim, user = targets.UserOf[positions[0]], W = Window;
        var (lo, hi) = Reads(targets, positions);
        int m = hi - lo;
        Span<T> act = work.Activations(OffTargets(m) + positions.Length * TargetBlock);
        ReadOnlySpan<T> x = act[..(m * dv)], e = act.Slice(m * dv, m * d);
        // scratch: dE (m, d), dZe (m, h), dHin (3d), dt (d), da (W), dZ (W, h), dP (W, d), dz_t (h), head scratch
        Span<T> scratch = work.Scratch(m * (d + h) + 4 * d + W * (1 + h + d) + h + _head.ScratchSize(1));
        Span<T> dE = scratch[..(m * d)], dZe = scratch.Slice(m * d, m * h), dHin = scratch.Slice(m * (d + h), 3 * d);
        Span<T> dt = scratch.Slice(m * (d + h) + 3 * d, d), da = scratch.Slice(m * (d + h) + 4 * d, W);
        Span<T> dZ = scratch.Slice(m * (d + h) + 4 * d + W, W * h), dP = scratch.Slice(m * (d + h) + 4 * d + W * (1 + h), W * d);
        Span<T> dzt = scratch.Slice(m * (d + h) + 4 * d + W * (1 + h + d), h), headScratch = scratch[(m * (d + h) + 4 * d + W * (1 + h + d) + h)..];
        ReadOnlySpan<T> wo = _wo.Of(p);
        Span<T> dwo = _wo.Of(g);
        dE.Clear();
        dZe.Clear();
        for (int k = 0; k < positions.Length; k++)
        {
            int end = data.ClickHistEnd[positions[k]], start = Math.Max(0, end - Window), n = end - start;
            Block<T> b = new(act.Slice(OffTargets(m) + k * TargetBlock, TargetBlock), this);
            dHin.Clear();
            _head.Backward(p, g, dHin, [dlogits[k]], b.Hin, b.Head, headScratch, 1);
            Span<T> du = _user.Of(g).Slice(user * d, d);
            TensorPrimitives.Add(du, dHin[..d], du);
            ReadOnlySpan<T> dv_ = dHin.Slice(d, d);
            dHin[(2 * d)..].CopyTo(dt);
            if (n > 0)
            {
                ReadOnlySpan<T> en = e.Slice((start - lo) * d, n * d), w = b.W[..n], hid = b.H[..(n * h)];
                Span<T> dEn = dE.Slice((start - lo) * d, n * d), dZen = dZe.Slice((start - lo) * h, n * h);
                Span<T> dan = da[..n], dz = dZ[..(n * h)], dp = dP[..(n * d)];
                // v = Σ_j w_j e_j: ∂/∂w_j = dv·e_j, ∂/∂e_j += w_j dv; w = softmax(a / √d): ∂/∂a_j = w_j (∂w_j − Σ_k w_k ∂w_k) / √d.
                for (int j = 0; j < n; j++)
                {
                    dan[j] = TensorPrimitives.Dot(dv_, en.Slice(j * d, d));
                    TensorPrimitives.MultiplyAdd(dv_, w[j], dEn.Slice(j * d, d), dEn.Slice(j * d, d));
                }
                T mean = TensorPrimitives.Dot(w, dan);
                dzt.Clear();
                for (int j = 0; j < n; j++)
                {
                    T daj = w[j] * (dan[j] - mean) * InverseSqrtDim<T>();
                    ReadOnlySpan<T> hj = hid.Slice(j * h, h);
                    Span<T> dzj = dz.Slice(j * h, h), dzej = dZen.Slice(j * h, h);
                    TensorPrimitives.MultiplyAdd(hj, daj, dwo, dwo);
                    // a = w_oᵀ ReLU(z): ∂/∂z passes where the unit is positive; z's three terms take it whole.
                    for (int i = 0; i < h; i++) dzj[i] = hj[i] > T.Zero ? daj * wo[i] : T.Zero;
                    TensorPrimitives.Add(dzej, dzj, dzej);
                    TensorPrimitives.Add(dzt, dzj, dzt);
                }
                dp.Clear();
                Linear.Backward(dp, _wp.Of(g), [], dz, b.P[..(n * d)], _wp.Of(p), h, parallel: false);
                // P_j = e_j ⊙ t.
                for (int j = 0; j < n; j++)
                {
                    ReadOnlySpan<T> dpj = dp.Slice(j * d, d), ej = en.Slice(j * d, d);
                    Span<T> dej = dEn.Slice(j * d, d);
                    TensorPrimitives.MultiplyAdd(dpj, b.Tv, dej, dej);
                    TensorPrimitives.MultiplyAdd(dpj, ej, dt, dt);
                }
                Linear.Backward(dt, _wt.Of(g), [], dzt, b.Tv, _wt.Of(p), h, parallel: false);
            }
            _item.Backward(p, g, dt, b.Xt);
        }
        Linear.Backward(dE, _we.Of(g), _b.Of(g), dZe, e, _we.Of(p), h, parallel: false);
        _item.Backward(p, g, dE, x);
    }

    /// <summary>One target's slice of the group's activations.</summary>
    private readonly ref struct Block<T>
    {
        public readonly Span<T> Xt, Tv, Zt, P, H, W, Hin, Head;

        public Block(Span<T> block, Din net)
        {
            int d = net._dim, h = net._hidden, n = net.Window, dv = net.VisualDim;
            Xt = block[..dv];
            Tv = block.Slice(dv, d);
            Zt = block.Slice(dv + d, h);
            P = block.Slice(dv + d + h, n * d);
            H = block.Slice(dv + d + h + n * d, n * h);
            W = block.Slice(dv + d + h + n * (d + h), n);
            Hin = block.Slice(dv + d + h + n * (d + h + 1), 3 * d);
            Head = block[(dv + 4 * d + h + n * (d + h + 1))..];
        }
    }
}
