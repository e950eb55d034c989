using System.Numerics.Tensors;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// NCF's NeuMF (He et al., WWW 2017): φ^GMF = p_u^G ⊙ q_i^G (Eq. 9), φ^MLP = a_L(W_L(… a_1(W_1 [p_u^M ; q_i^M] + b_1)))
/// (Eq. 10) and ŷ = hᵀ[φ^GMF ; φ^MLP] (Eq. 12, as a logit). hᵀ[φ^GMF ; φ^MLP] = h_Gᵀφ^GMF + h_Mᵀφ^MLP, so the
/// MLP tower's last layer is h_M (with the output bias) and h_G is its own vector. Free user embeddings p^G, p^M;
/// the item embeddings q^G, q^M are <see cref="ItemProjection"/>s of the visual vector (docs/BASELINES.md "NCF").
/// Trained pointwise on impressions (Eq. 7's log loss, with the log's not-clicked impressions as the negatives).
/// </summary>
public sealed class Ncf : PerTargetNet
{
    private readonly TensorSlot _userG, _userM, _hG;
    private readonly ItemProjection _itemG, _itemM;
    private readonly Tower _mlp;
    private readonly int _dim;

    /// <param name="dim">Embedding size of both towers; the MLP halves it layer by layer to its predictive factors.</param>
    public Ncf(ItemTable items, int userCount, int dim = 64, int mlpLayers = 2) : base(items, window: 0)
    {
        _dim = dim;
        _userG = Layout.Add("ncf.userG", userCount, dim, TensorKind.Embedding);
        _itemG = new ItemProjection(Layout, "ncf.itemG", items.VisualDim, dim);
        _hG = Layout.Add("ncf.hG", 1, dim, TensorKind.Weight);
        _userM = Layout.Add("ncf.userM", userCount, dim, TensorKind.Embedding);
        _itemM = new ItemProjection(Layout, "ncf.itemM", items.VisualDim, dim);
        // The tower pyramid of the paper (Sec. 4.1: each layer half the one below): 2d → d → d/2 … → 1.
        var sizes = new List<int> { 2 * dim };
        for (int l = 0; l < mlpLayers; l++) sizes.Add(Math.Max(1, dim >> l));
        sizes.Add(1);
        _mlp = new Tower(Layout, "ncf.mlp", sizes.ToArray());
    }

    // act: x (D), qG (d), qM (d), z = [p^M ; q^M] (2d), tower activations
    public override int ActivationSize => VisualDim + 4 * _dim + _mlp.ActivationSize(1);
    // scratch: dq (d), dz (2d), tower scratch
    public override int ScratchSize => 3 * _dim + _mlp.ScratchSize(1);

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        int d = _dim;
        Span<T> x = act[..VisualDim], qG = act.Slice(VisualDim, d), qM = act.Slice(VisualDim + d, d);
        Span<T> z = act.Slice(VisualDim + 2 * d, 2 * d), tower = act[(VisualDim + 4 * d)..];
        Features(x, [t.Item]);
        _itemG.Forward(p, x, qG);
        _itemM.Forward(p, x, qM);
        ReadOnlySpan<T> pG = _userG.Of(p).Slice(t.User * d, d);
        _userM.Of(p).Slice(t.User * d, d).CopyTo(z);
        qM.CopyTo(z[d..]);
        _mlp.Forward(p, z, tower, 1);
        // h_Gᵀ(p^G ⊙ q^G) summed in one fixed order.
        T gmf = T.Zero;
        ReadOnlySpan<T> hG = _hG.Of(p);
        for (int k = 0; k < d; k++) gmf += hG[k] * pG[k] * qG[k];
        return gmf + _mlp.Output(tower, 1)[0];
    }

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        int d = _dim;
        ReadOnlySpan<T> x = act[..VisualDim], qG = act.Slice(VisualDim, d), z = act.Slice(VisualDim + 2 * d, 2 * d);
        ReadOnlySpan<T> tower = act[(VisualDim + 4 * d)..];
        Span<T> dq = scratch[..d], dz = scratch.Slice(d, 2 * d), towerScratch = scratch[(3 * d)..];
        ReadOnlySpan<T> pG = _userG.Of(p).Slice(t.User * d, d), hG = _hG.Of(p);
        Span<T> dpG = _userG.Of(g).Slice(t.User * d, d), dhG = _hG.Of(g);

        // GMF: ∂/∂h_G = p ⊙ q, ∂/∂p = h_G ⊙ q, ∂/∂q = h_G ⊙ p.
        for (int k = 0; k < d; k++)
        {
            dhG[k] += dlogit * pG[k] * qG[k];
            dpG[k] += dlogit * hG[k] * qG[k];
            dq[k] = dlogit * hG[k] * pG[k];
        }
        _itemG.Backward(p, g, dq, x);

        dz.Clear();
        _mlp.Backward(p, g, dz, [dlogit], z, tower, towerScratch, 1);
        Span<T> dpM = _userM.Of(g).Slice(t.User * d, d);
        TensorPrimitives.Add(dpM, dz[..d], dpM);
        _itemM.Backward(p, g, dz[d..], x);
    }
}
