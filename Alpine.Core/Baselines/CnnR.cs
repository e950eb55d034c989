using System.Numerics.Tensors;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// CNN-R (the paper's Sec. 4.3 baseline list) in Caser's form (Tang &amp; Wang, WSDM 2018, Sec. 3.2–3.3): the
/// embeddings of the L most recent clicks form E (L × d, the most recent last, zero rows where the user has fewer
/// clicks). Horizontal filters F^k (h × d) for each height h = 1…L slide over E: c_i^k = ReLU(⟨E_{i:i+h−1}, F^k⟩ + b_k)
/// (Eq. 2), max-pooled over i (Eq. 3); vertical filters F̃ (L × 1) give c̃ = Σ_l F̃_l E_l (Eq. 4). The interest is a
/// fully connected layer over [o ; õ], then the ALPINE-style MLP (SPEC D8) over [interest ; t] as the paper's
/// CNN-R ("max pooling followed by a fully connected layer", windows one to ten, 32 filters each).
/// docs/BASELINES.md "CNN-R".
/// </summary>
public sealed class CnnR : PerTargetNet
{
    private readonly ItemProjection _item;
    private readonly TensorSlot[] _hw, _hb;
    private readonly TensorSlot _vw;
    private readonly Tower _interest, _head;
    private readonly int _dim, _filters, _vertical;

    /// <param name="window">L, and the tallest horizontal filter.</param>
    public CnnR(ItemTable items, int window = 10, int dim = 64, int filters = 32, int vertical = 4, int mlpHidden = 128) : base(items, window)
    {
        _dim = dim;
        _filters = filters;
        _vertical = vertical;
        _item = new ItemProjection(Layout, "cnnr.item", items.VisualDim, dim);
        _hw = new TensorSlot[window];
        _hb = new TensorSlot[window];
        for (int h = 1; h <= window; h++)
        {
            _hw[h - 1] = Layout.Add($"cnnr.h{h}.W", filters, h * dim, TensorKind.Weight);
            _hb[h - 1] = Layout.Add($"cnnr.h{h}.b", 1, filters, TensorKind.Bias);
        }
        _vw = Layout.Add("cnnr.v.W", vertical, window, TensorKind.Weight);
        _interest = new Tower(Layout, "cnnr.interest", FeatureCount, dim);
        _head = new Tower(Layout, "cnnr.head", 2 * dim, mlpHidden, 1);
    }

    private int L => Window;
    /// <summary>[o ; õ]: one max per horizontal filter, one d-vector per vertical filter.</summary>
    private int FeatureCount => L * _filters + _vertical * _dim;
    /// <summary>Convolution outputs of all heights: Σ_h (L − h + 1) windows × filters.</summary>
    private int ConvSize => L * (L + 1) / 2 * _filters;
    private int ConvOffset(int h) => (h - 1) * (2 * L - h + 2) / 2 * _filters; // Σ_{h' < h} (L − h' + 1) · filters

    // act: X (L, D) clicks, x_t (D), E (L, d), C (ConvSize), [o ; õ] (FeatureCount), interest, head input (2d), head
    private int OffXt => L * VisualDim;
    private int OffE => OffXt + VisualDim;
    private int OffC => OffE + L * _dim;
    private int OffFeat => OffC + ConvSize;
    private int OffInterest => OffFeat + FeatureCount;
    private int OffHin => OffInterest + _interest.ActivationSize(1);
    private int OffHead => OffHin + 2 * _dim;
    public override int ActivationSize => OffHead + _head.ActivationSize(1);
    // scratch: dHin (2d), dFeat (FeatureCount), dE (L, d), tower scratch
    public override int ScratchSize => 2 * _dim + FeatureCount + L * _dim + Math.Max(_interest.ScratchSize(1), _head.ScratchSize(1));

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        int n = t.Clicks.Length, d = _dim, dv = VisualDim;
        Span<T> x = act[..(n * dv)], xt = act.Slice(OffXt, dv), e = act.Slice(OffE, L * d);
        Features(x, t.Clicks);
        Features(xt, [t.Item]);
        e[..((L - n) * d)].Clear();
        _item.Forward(p, x, e[((L - n) * d)..]);

        Span<T> conv = act.Slice(OffC, ConvSize), feat = act.Slice(OffFeat, FeatureCount);
        for (int h = 1; h <= L; h++)
        {
            ReadOnlySpan<T> w = _hw[h - 1].Of(p), b = _hb[h - 1].Of(p);
            Span<T> c = conv.Slice(ConvOffset(h), (L - h + 1) * _filters);
            for (int i = 0; i + h <= L; i++)
                for (int f = 0; f < _filters; f++)
                    c[i * _filters + f] = TensorPrimitives.Dot(w.Slice(f * h * d, h * d), (ReadOnlySpan<T>)e.Slice(i * d, h * d)) + b[f];
            // max_i ReLU(c_i) = ReLU(max_i c_i)
            for (int f = 0; f < _filters; f++)
                feat[(h - 1) * _filters + f] = T.Max(T.Zero, c[ArgMax(c, f, L - h + 1) * _filters + f]);
        }
        Span<T> vert = feat[(L * _filters)..];
        vert.Clear();
        ReadOnlySpan<T> vw = _vw.Of(p);
        for (int v = 0; v < _vertical; v++)
            for (int l = 0; l < L; l++)
                TensorPrimitives.MultiplyAdd(e.Slice(l * d, d), vw[v * L + l], vert.Slice(v * d, d), vert.Slice(v * d, d));

        Span<T> interest = act.Slice(OffInterest, _interest.ActivationSize(1)), hin = act.Slice(OffHin, 2 * d);
        _interest.Forward(p, feat, interest, 1);
        interest.CopyTo(hin);
        _item.Forward(p, xt, hin[d..]);
        Span<T> head = act.Slice(OffHead, _head.ActivationSize(1));
        _head.Forward(p, hin, head, 1);
        return _head.Output(head, 1)[0];
    }

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        int n = t.Clicks.Length, d = _dim, dv = VisualDim;
        ReadOnlySpan<T> x = act[..(n * dv)], xt = act.Slice(OffXt, dv), e = act.Slice(OffE, L * d);
        ReadOnlySpan<T> conv = act.Slice(OffC, ConvSize), feat = act.Slice(OffFeat, FeatureCount), hin = act.Slice(OffHin, 2 * d);
        Span<T> dHin = scratch[..(2 * d)], dFeat = scratch.Slice(2 * d, FeatureCount), dE = scratch.Slice(2 * d + FeatureCount, L * d);
        Span<T> towerScratch = scratch[(2 * d + FeatureCount + L * d)..];

        dHin.Clear();
        _head.Backward(p, g, dHin, [dlogit], hin, act.Slice(OffHead, _head.ActivationSize(1)), towerScratch, 1);
        _item.Backward(p, g, dHin[d..], xt);
        dFeat.Clear();
        _interest.Backward(p, g, dFeat, dHin[..d], feat, act.Slice(OffInterest, _interest.ActivationSize(1)), towerScratch, 1);

        dE.Clear();
        ReadOnlySpan<T> vw = _vw.Of(p), dVert = dFeat[(L * _filters)..];
        Span<T> dvw = _vw.Of(g);
        for (int v = 0; v < _vertical; v++)
            for (int l = 0; l < L; l++)
            {
                dvw[v * L + l] += TensorPrimitives.Dot(dVert.Slice(v * d, d), e.Slice(l * d, d));
                TensorPrimitives.MultiplyAdd(dVert.Slice(v * d, d), vw[v * L + l], dE.Slice(l * d, d), dE.Slice(l * d, d));
            }
        // Max pooling passes the gradient to its window (the first maximum), where the ReLU was open.
        for (int h = 1; h <= L; h++)
        {
            ReadOnlySpan<T> w = _hw[h - 1].Of(p), c = conv.Slice(ConvOffset(h), (L - h + 1) * _filters);
            Span<T> dw = _hw[h - 1].Of(g), db = _hb[h - 1].Of(g);
            for (int f = 0; f < _filters; f++)
            {
                int i = ArgMax(c, f, L - h + 1);
                T dc = dFeat[(h - 1) * _filters + f];
                if (!(c[i * _filters + f] > T.Zero) || dc == T.Zero) continue;
                db[f] += dc;
                TensorPrimitives.MultiplyAdd(e.Slice(i * d, h * d), dc, dw.Slice(f * h * d, h * d), dw.Slice(f * h * d, h * d));
                TensorPrimitives.MultiplyAdd(w.Slice(f * h * d, h * d), dc, dE.Slice(i * d, h * d), dE.Slice(i * d, h * d));
            }
        }
        _item.Backward(p, g, dE[((L - n) * d)..], x);
    }

    /// <summary>The window of filter f's largest output (the first, on ties).</summary>
    private int ArgMax<T>(ReadOnlySpan<T> c, int f, int windows) where T : System.Numerics.INumber<T>
    {
        int best = 0;
        for (int i = 1; i < windows; i++) if (c[i * _filters + f] > c[best * _filters + f]) best = i;
        return best;
    }
}
