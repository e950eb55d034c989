using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// THACIL (Chen et al., MM 2018, temporal hierarchical attention at category and item level): the ≤ W most recent
/// clicks are cut into temporal windows of S consecutive clicks (the oldest window may be shorter). In window k,
/// item-level attention with the target, a_k = Σ softmax_j(e_j · W_I t) e_j, and, on the thacil profile,
/// category-level attention with the target's category, b_k = Σ softmax_j(c_j · W_C c_t) c_j over category
/// embeddings, give w_k = a_k + W_M b_k. A forward (causal) <see cref="SelfAttention"/> over the windows models the
/// long-term correlation, vanilla attention with the target pools it, f = Σ softmax_k(Y_k · W_F t) Y_k, and ALPINE's
/// prediction layer (which the paper under reproduction says THACIL shares, Sec. 4.3) scores [f ; t ; c_t], the
/// target as ALPINE's x_new = [category ; visual] (SPEC "Item embedding x"). Items enter by <see cref="ItemProjection"/>. Without
/// categories (kuaishou) the category level is absent: w_k = a_k and the head scores [f ; t].
/// docs/BASELINES.md "THACIL".
/// </summary>
public sealed class Thacil : PerTargetNet
{
    private readonly ItemProjection _item;
    private readonly TensorSlot _wi, _wf, _cat, _wc, _wm;
    private readonly SelfAttention _self;
    private readonly Tower _head;
    private readonly int _dim, _catDim, _span;
    private readonly bool _categories;

    /// <param name="span">S, clicks per temporal window.</param>
    public Thacil(ItemTable items, int window = 50, int span = 10, int dim = 64, int categoryDim = 16, int heads = 8, int ffHidden = 64,
        int mlpHidden = 128) : base(items, window)
    {
        _dim = dim;
        _catDim = categoryDim;
        _span = span;
        _categories = items.Category is not null && items.CategoryCount > 0;
        _item = new ItemProjection(Layout, "thacil.item", items.VisualDim, dim);
        _wi = Layout.Add("thacil.Wi", dim, dim, TensorKind.Weight);
        if (_categories)
        {
            _cat = Layout.Add("thacil.category", items.CategoryCount, categoryDim, TensorKind.Embedding);
            _wc = Layout.Add("thacil.Wc", categoryDim, categoryDim, TensorKind.Weight);
            _wm = Layout.Add("thacil.Wm", dim, categoryDim, TensorKind.Weight);
        }
        _self = new SelfAttention(Layout, "thacil.self", dim, heads, ffHidden, causal: true);
        _wf = Layout.Add("thacil.Wf", dim, dim, TensorKind.Weight);
        _head = new Tower(Layout, "thacil.head", HeadInputs, mlpHidden, 1);
    }

    /// <summary>[f ; t], and c_t on the thacil profile.</summary>
    private int HeadInputs => 2 * _dim + (_categories ? _catDim : 0);
    private int MaxWindows => (Window + _span - 1) / _span;
    private int Rows => Window + 1; // the clicks and the target as the last row

    /// <summary>Window k of K over n clicks: the last K−1 windows hold S clicks each, the first the rest.</summary>
    private (int Start, int Length) WindowOf(int k, int windows, int n)
    {
        int first = n - (windows - 1) * _span;
        return k == 0 ? (0, first) : (first + (k - 1) * _span, _span);
    }

    // act: X (Rows, D), E (Rows, d), qI (d), β (W), A (K, d), [C (Rows, dc), qC (dc), γ (W), B (K, dc)], window reps (K, d),
    // self-attention, qF (d), α (K), head input [f ; t] (2d), head
    private int OffE => Rows * VisualDim;
    private int OffQi => OffE + Rows * _dim;
    private int OffBeta => OffQi + _dim;
    private int OffA => OffBeta + Window;
    private int OffC => OffA + MaxWindows * _dim;
    private int OffQc => OffC + Rows * _catDim;
    private int OffGamma => OffQc + _catDim;
    private int OffB => OffGamma + Window;
    private int OffW => OffB + MaxWindows * _catDim;
    private int OffSelf => OffW + MaxWindows * _dim;
    private int OffQf => OffSelf + _self.ActivationSize(MaxWindows);
    private int OffAlpha => OffQf + _dim;
    private int OffHin => OffAlpha + MaxWindows;
    private int OffHead => OffHin + HeadInputs;
    public override int ActivationSize => OffHead + _head.ActivationSize(1);
    // scratch: dHin (2d), dq (d), dE (Rows, d), dqI (d), dW (K, d), dY (K, d), dC (Rows, dc), dqC (dc), db (dc), one attention dq (d), layer scratch
    private int ScratchFixed => 2 * _dim + HeadInputs + Rows * _dim + 2 * MaxWindows * _dim + Rows * _catDim + 2 * _catDim + _dim;
    public override int ScratchSize => ScratchFixed + Math.Max(_self.ScratchSize(MaxWindows), _head.ScratchSize(1));

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        int n = t.Clicks.Length, d = _dim, dc = _catDim, dv = VisualDim, windows = (n + _span - 1) / _span;
        Span<T> x = act[..((n + 1) * dv)], e = act.Slice(OffE, (n + 1) * d);
        Features(x[..(n * dv)], t.Clicks);
        Features(x[(n * dv)..], [t.Item]);
        _item.Forward(p, x, e);
        ReadOnlySpan<T> target = e[(n * d)..];
        Span<T> qi = act.Slice(OffQi, d), beta = act.Slice(OffBeta, n), a = act.Slice(OffA, windows * d), w = act.Slice(OffW, windows * d);
        Linear.Forward(qi, target, _wi.Of(p), [], d, parallel: false);
        for (int k = 0; k < windows; k++)
        {
            (int s, int len) = WindowOf(k, windows, n);
            Attention.Forward(a.Slice(k * d, d), beta.Slice(s, len), e.Slice(s * d, len * d), qi);
        }
        a.CopyTo(w);
        if (_categories)
        {
            Span<T> c = act.Slice(OffC, (n + 1) * dc), qc = act.Slice(OffQc, dc), gamma = act.Slice(OffGamma, n), b = act.Slice(OffB, windows * dc);
            ReadOnlySpan<T> table = _cat.Of(p);
            for (int j = 0; j <= n; j++) table.Slice(CategoryOf(t, j) * dc, dc).CopyTo(c.Slice(j * dc, dc));
            Linear.Forward(qc, c[(n * dc)..], _wc.Of(p), [], dc, parallel: false);
            for (int k = 0; k < windows; k++)
            {
                (int s, int len) = WindowOf(k, windows, n);
                Attention.Forward(b.Slice(k * dc, dc), gamma.Slice(s, len), c.Slice(s * dc, len * dc), qc);
            }
            Linear.Forward(w, b, _wm.Of(p), [], d, parallel: false); // W_M b_k
            TensorPrimitives.Add(w, a, w);
        }
        Span<T> self = act.Slice(OffSelf, _self.ActivationSize(windows)), qf = act.Slice(OffQf, d), alpha = act.Slice(OffAlpha, windows);
        Span<T> hin = act.Slice(OffHin, HeadInputs);
        if (_categories) act.Slice(OffC + n * dc, dc).CopyTo(hin[(2 * d)..]);
        _self.Forward(p, w, self, windows);
        target.CopyTo(hin.Slice(d, d));
        Linear.Forward(qf, target, _wf.Of(p), [], d, parallel: false);
        Attention.Forward(hin[..d], alpha, _self.Output<T>(self, windows), qf);
        Span<T> head = act.Slice(OffHead, _head.ActivationSize(1));
        _head.Forward(p, hin, head, 1);
        return _head.Output(head, 1)[0];
    }

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        int n = t.Clicks.Length, d = _dim, dc = _catDim, dv = VisualDim, windows = (n + _span - 1) / _span;
        ReadOnlySpan<T> x = act[..((n + 1) * dv)], e = act.Slice(OffE, (n + 1) * d), target = e[(n * d)..];
        ReadOnlySpan<T> qi = act.Slice(OffQi, d), beta = act.Slice(OffBeta, n), a = act.Slice(OffA, windows * d), w = act.Slice(OffW, windows * d);
        ReadOnlySpan<T> self = act.Slice(OffSelf, _self.ActivationSize(windows)), qf = act.Slice(OffQf, d), alpha = act.Slice(OffAlpha, windows);
        ReadOnlySpan<T> hin = act.Slice(OffHin, HeadInputs);
        int at = 0;
        Span<T> Take(Span<T> s, int len) { Span<T> r = s.Slice(at, len); at += len; return r; }
        Span<T> dHin = Take(scratch, HeadInputs), dq = Take(scratch, d), dE = Take(scratch, Rows * d)[..((n + 1) * d)], dqI = Take(scratch, d);
        Span<T> dW = Take(scratch, MaxWindows * d)[..(windows * d)], dY = Take(scratch, MaxWindows * d)[..(windows * d)];
        Span<T> dC = Take(scratch, Rows * dc)[..((n + 1) * dc)], dqC = Take(scratch, dc), db = Take(scratch, dc), dqOne = Take(scratch, d);
        Span<T> layerScratch = scratch[ScratchFixed..];

        dHin.Clear();
        _head.Backward(p, g, dHin, [dlogit], hin, act.Slice(OffHead, _head.ActivationSize(1)), layerScratch, 1);
        Span<T> dt = dE[(n * d)..];
        dHin.Slice(d, d).CopyTo(dt);
        dY.Clear();
        Attention.Backward(dY, dq, dHin[..d], alpha, _self.Output(self, windows), qf, hin[..d]);
        Linear.Backward(dt, _wf.Of(g), [], dq, target, _wf.Of(p), d, parallel: false);
        dW.Clear();
        _self.Backward(p, g, dW, dY, w, self, layerScratch, windows);

        // w_k = a_k + W_M b_k; a_k and b_k are attention pools over window k.
        dE[..(n * d)].Clear();
        dqI.Clear();
        for (int k = 0; k < windows; k++)
        {
            (int s, int len) = WindowOf(k, windows, n);
            Attention.Backward(dE.Slice(s * d, len * d), dqOne, dW.Slice(k * d, d), beta.Slice(s, len), e.Slice(s * d, len * d), qi, a.Slice(k * d, d));
            TensorPrimitives.Add(dqI, dqOne, dqI);
        }
        Linear.Backward(dt, _wi.Of(g), [], dqI, target, _wi.Of(p), d, parallel: false);
        if (_categories)
        {
            ReadOnlySpan<T> c = act.Slice(OffC, (n + 1) * dc), qc = act.Slice(OffQc, dc), gamma = act.Slice(OffGamma, n), b = act.Slice(OffB, windows * dc);
            dC.Clear();
            dHin[(2 * d)..].CopyTo(dC[(n * dc)..]);
            dqC.Clear();
            Span<T> dbAll = layerScratch[..(windows * dc)];
            dbAll.Clear();
            Linear.Backward(dbAll, _wm.Of(g), [], dW, b, _wm.Of(p), d, parallel: false);
            for (int k = 0; k < windows; k++)
            {
                (int s, int len) = WindowOf(k, windows, n);
                Attention.Backward(dC.Slice(s * dc, len * dc), db, dbAll.Slice(k * dc, dc), gamma.Slice(s, len), c.Slice(s * dc, len * dc), qc, b.Slice(k * dc, dc));
                TensorPrimitives.Add(dqC, db, dqC);
            }
            Linear.Backward(dC[(n * dc)..], _wc.Of(g), [], dqC, c[(n * dc)..], _wc.Of(p), dc, parallel: false);
            Span<T> table = _cat.Of(g);
            for (int j = 0; j <= n; j++)
            {
                Span<T> row = table.Slice(CategoryOf(t, j) * dc, dc);
                TensorPrimitives.Add(row, dC.Slice(j * dc, dc), row);
            }
        }
        _item.Backward(p, g, dE, x);
    }

    /// <summary>The category of click j, or of the target for j = n.</summary>
    private int CategoryOf(in Target t, int j) => Items.Category![j < t.Clicks.Length ? t.Clicks[j] : t.Item];
}
