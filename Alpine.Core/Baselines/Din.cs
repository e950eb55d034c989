using System.Numerics.Tensors;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// DIN (Zhou et al., KDD 2018): the user's interest in target t is v_U(t) = Σ_j w_j e_j over the embeddings e_j of
/// the clicks before the impression (Eq. 3's weighted sum pooling), the local activation unit a(e_j, t) an MLP over
/// [e_j ; t ; e_j − t ; e_j ⊙ t] (Fig. 2; the authors' code feeds the difference and product where the figure draws
/// the outer product). The weights are the authors' code's (din/model.py <c>attention</c>):
/// w = softmax_j(a(e_j, t) / √d) over the history, where Eq. 3 leaves them unnormalised — a sum of up to W
/// unnormalised terms grows with the history and does not train at this scale (docs/BASELINES.md "DIN").
/// ŷ = MLP([u ; v_U(t) ; t]) with a free user embedding u. Items (history and target) share one
/// <see cref="ItemProjection"/> of the visual vector. ReLU where the paper uses Dice/PReLU, and no mini-batch-aware
/// regularisation.
/// </summary>
public sealed class Din : BaselineNet
{
    private readonly TensorSlot _user;
    private readonly ItemProjection _item;
    private readonly Tower _attention, _head;
    private readonly int _dim;

    /// <param name="attentionHidden">The activation unit's hidden width.</param>
    /// <param name="headHidden">The head MLP's hidden widths (the paper's 200 × 80).</param>
    public Din(ItemTable items, int userCount, int window = 50, int dim = 64, int attentionHidden = 64, int[]? headHidden = null)
        : base(items, window)
    {
        _dim = dim;
        _user = Layout.Add("din.user", userCount, dim, TensorKind.Embedding);
        _item = new ItemProjection(Layout, "din.item", items.VisualDim, dim);
        _attention = new Tower(Layout, "din.attention", 4 * dim, attentionHidden, 1);
        _head = new Tower(Layout, "din.head", [3 * dim, .. headHidden ?? [200, 80], 1]);
    }

    private int Rows => Window + 1; // the history and the target as the last row

    // act: X (n+1, D), E (n+1, d), A (n, 4d), attention activations (n rows), w (n), head input (3d), head activations
    private int OffE => Rows * VisualDim;
    private int OffA => OffE + Rows * _dim;
    private int OffAtt => OffA + Window * 4 * _dim;
    private int OffW => OffAtt + _attention.ActivationSize(Window);
    private int OffHin => OffW + Window;
    private int OffHead => OffHin + 3 * _dim;
    public override int ActivationSize => OffHead + _head.ActivationSize(1);
    // scratch: dHin (3d), dE (n+1, d), da (n), dA (n, 4d), tower scratch (the larger of the two)
    public override int ScratchSize => 3 * _dim + Rows * _dim + Window + Window * 4 * _dim
        + Math.Max(_attention.ScratchSize(Window), _head.ScratchSize(1));

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        int n = t.Clicks.Length, d = _dim, dv = VisualDim;
        Span<T> x = act[..((n + 1) * dv)], e = act.Slice(OffE, (n + 1) * d);
        Features(x[..(n * dv)], t.Clicks);
        Features(x[(n * dv)..], [t.Item]);
        _item.Forward(p, x, e);
        ReadOnlySpan<T> target = e[(n * d)..];

        Span<T> a = act.Slice(OffA, n * 4 * d), att = act.Slice(OffAtt, _attention.ActivationSize(n));
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<T> ej = e.Slice(j * d, d);
            Span<T> row = a.Slice(j * 4 * d, 4 * d);
            ej.CopyTo(row);
            target.CopyTo(row[d..]);
            TensorPrimitives.Subtract(ej, target, row.Slice(2 * d, d));
            TensorPrimitives.Multiply(ej, target, row.Slice(3 * d, d));
        }
        Span<T> hin = act.Slice(OffHin, 3 * d);
        _user.Of(p).Slice(t.User * d, d).CopyTo(hin);
        Span<T> v = hin.Slice(d, d);
        v.Clear();
        if (n > 0)
        {
            _attention.Forward(p, a, att, n);
            Span<T> w = act.Slice(OffW, n);
            TensorPrimitives.Multiply(_attention.Output(att, n), InverseSqrtDim<T>(), w);
            TensorPrimitives.Subtract(w, TensorPrimitives.Max<T>(w), w); // exp never overflows
            TensorPrimitives.SoftMax<T>(w, w);
            for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(e.Slice(j * d, d), w[j], v, v);
        }
        target.CopyTo(hin[(2 * d)..]);
        Span<T> head = act.Slice(OffHead, _head.ActivationSize(1));
        _head.Forward(p, hin, head, 1);
        return _head.Output(head, 1)[0];
    }

    private T InverseSqrtDim<T>() where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> => T.One / T.Sqrt(T.CreateTruncating(_dim));

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        int n = t.Clicks.Length, d = _dim, dv = VisualDim;
        ReadOnlySpan<T> x = act[..((n + 1) * dv)], e = act.Slice(OffE, (n + 1) * d), a = act.Slice(OffA, n * 4 * d);
        ReadOnlySpan<T> att = act.Slice(OffAtt, _attention.ActivationSize(n)), hin = act.Slice(OffHin, 3 * d);
        ReadOnlySpan<T> target = e[(n * d)..];
        Span<T> dHin = scratch[..(3 * d)], dE = scratch.Slice(3 * d, (n + 1) * d);
        Span<T> da = scratch.Slice(3 * d + Rows * d, n), dA = scratch.Slice(3 * d + Rows * d + Window, n * 4 * d);
        Span<T> towerScratch = scratch[(3 * d + Rows * d + Window + Window * 4 * d)..];

        dHin.Clear();
        _head.Backward(p, g, dHin, [dlogit], hin, act.Slice(OffHead, _head.ActivationSize(1)), towerScratch, 1);
        Span<T> du = _user.Of(g).Slice(t.User * d, d);
        TensorPrimitives.Add(du, dHin[..d], du);
        ReadOnlySpan<T> dvU = dHin.Slice(d, d);
        Span<T> dt = dE[(n * d)..];
        dHin[(2 * d)..].CopyTo(dt);

        if (n > 0)
        {
            // v = Σ_j w_j e_j: ∂/∂w_j = dv·e_j, ∂/∂e_j = w_j dv; w = softmax(a / √d): ∂/∂a_j = w_j (∂w_j − Σ_k w_k ∂w_k) / √d.
            ReadOnlySpan<T> w = act.Slice(OffW, n);
            for (int j = 0; j < n; j++)
            {
                da[j] = TensorPrimitives.Dot(dvU, e.Slice(j * d, d));
                TensorPrimitives.Multiply(dvU, w[j], dE.Slice(j * d, d));
            }
            T mean = TensorPrimitives.Dot(w, da);
            for (int j = 0; j < n; j++) da[j] = w[j] * (da[j] - mean) * InverseSqrtDim<T>();
            dA.Clear();
            _attention.Backward(p, g, dA, da, a, att, towerScratch, n);
            // The unit's input [e_j ; t ; e_j − t ; e_j ⊙ t] fans e_j and t out four ways each.
            for (int j = 0; j < n; j++)
            {
                ReadOnlySpan<T> row = dA.Slice(j * 4 * d, 4 * d), ej = e.Slice(j * d, d);
                Span<T> dej = dE.Slice(j * d, d);
                for (int k = 0; k < d; k++)
                {
                    T dDiff = row[2 * d + k], dProd = row[3 * d + k];
                    dej[k] += row[k] + dDiff + dProd * target[k];
                    dt[k] += row[d + k] - dDiff + dProd * ej[k];
                }
            }
        }
        _item.Backward(p, g, dE, x);
    }
}
