using System.Numerics;
using System.Numerics.Tensors;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// BPR-MF (Rendle et al., UAI 2009): x̂_ui = ⟨w_u, h_i⟩ + β_i (Eq. 3's matrix factorisation with an item bias),
/// trained on the BPR criterion (Eq. 4's −ln σ(x̂_ui − x̂_uj) over (user, clicked i, not-clicked j) triples,
/// <see cref="BaselineTrainer"/>). h_i is <see cref="ItemProjection"/> of the item's visual vector
/// (docs/BASELINES.md "BPR-MF"); w_u is a free user embedding.
/// </summary>
public sealed class Bpr : PerTargetNet
{
    private readonly TensorSlot _user, _bias;
    private readonly ItemProjection _item;
    private readonly int _dim;

    public Bpr(ItemTable items, int userCount, int dim = 64) : base(items, window: 0)
    {
        _dim = dim;
        _user = Layout.Add("bpr.user", userCount, dim, TensorKind.Embedding);
        _item = new ItemProjection(Layout, "bpr.item", items.VisualDim, dim);
        _bias = Layout.Add("bpr.itemBias", 1, items.Count, TensorKind.Bias);
    }

    // act: x (D), h (dim)
    public override int ActivationSize => VisualDim + _dim;
    public override int ScratchSize => _dim;

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        Span<T> x = act[..VisualDim], h = act.Slice(VisualDim, _dim);
        Features(x, [t.Item]);
        _item.Forward(p, x, h);
        return TensorPrimitives.Dot(_user.Of(p).Slice(t.User * _dim, _dim), (ReadOnlySpan<T>)h) + _bias.Of(p)[t.Item];
    }

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        ReadOnlySpan<T> x = act[..VisualDim], h = act.Slice(VisualDim, _dim);
        ReadOnlySpan<T> w = _user.Of(p).Slice(t.User * _dim, _dim);
        Span<T> dw = _user.Of(g).Slice(t.User * _dim, _dim), dh = scratch[.._dim];
        TensorPrimitives.MultiplyAdd(h, dlogit, dw, dw);
        TensorPrimitives.Multiply(w, dlogit, dh);
        _item.Backward(p, g, dh, x);
        _bias.Of(g)[t.Item] += dlogit;
    }
}
