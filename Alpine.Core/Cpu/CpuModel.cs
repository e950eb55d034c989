using System.Numerics;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Cpu;

/// <summary>
/// The whole ALPINE model on the CPU for one <see cref="Batch"/>, generic over float (training) and double
/// (gradient checks): per sequence branch, gather x → graph-LSTM → attention → MLP head; the multi-level
/// head on the user matrix; fusion; loss. Layers are the plain forward/backward pairs of this folder; this
/// class owns every activation buffer (grown when a larger batch arrives, never per step) and the
/// fixed partitioning over threads (SPEC D13).
/// </summary>
public sealed class CpuModel<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly ModelConfig _c;
    private readonly ModelLayout _layout;
    private readonly ItemTable _items;
    private readonly Workers _workers;
    private readonly int _d, _h, _m;
    private readonly SequenceBranch[] _branches;
    private readonly Head? _user;
    private readonly T[] _alphas; // (K) the layout's fusion weights in T
    // Per batch: (B,D) x_new and its gradient, (K,B) head logits and theirs, (B) fused logits and theirs.
    private T[] _xNew = [], _dxNew = [], _headLogits = [], _dheadLogits = [], _logits = [], _dlogits = [];
    private int _b;

    public CpuModel(ModelConfig config, ModelLayout model, ItemTable items, int threads = 0)
    {
        config.Validate();
        _c = config; _layout = model; _items = items;
        _workers = new Workers(threads);
        (_d, _h, _m) = (config.ItemDim, config.HiddenSize, config.MlpHidden);
        if (items.VisualDim != config.VisualDim) throw new ArgumentException($"item table has {items.VisualDim} visual dims, the model {config.VisualDim}");
        _branches = [.. model.Branches.Select(t => new SequenceBranch(this, t))];
        if (model.UserHead is { } user) _user = new Head(this, user, model.Heads - 1);
        _alphas = [.. model.Alphas.Select(T.CreateTruncating)];
    }

    public ParameterLayout Layout => _layout.Parameters;
    private int Heads => _alphas.Length;
    private bool TrainsX => _layout.TrainsX;

    /// <summary>Forward for the batch: writes one logit per target and keeps what <see cref="Backward"/> needs.</summary>
    public void Forward(Batch batch, T[] p, Span<T> logits)
    {
        int b = _b = batch.TargetCount, d = _d;
        Buffers.Grow(ref _xNew, b * d); Buffers.Grow(ref _headLogits, Heads * b); Buffers.Grow(ref _logits, b);
        T[] xNew = _xNew;
        TensorSlot? cat = _layout.Category;
        _workers.For(b, (lo, hi) =>
        {
            ReadOnlySpan<T> category = cat is { } c ? c.Of(p) : [];
            for (int t = lo; t < hi; t++) ItemEmbedding.Gather(xNew.AsSpan(t * d, d), _items, category, batch.TargetItem[t]);
        });
        foreach (SequenceBranch s in _branches) s.Forward(batch, p);
        if (_user != null)
        {
            // u = [U[user] ; x_new] (SPEC D8, D9)
            TensorSlot users = _layout.UserMatrix!.Value;
            T[] u = _user.Input(b);
            for (int t = 0; t < b; t++)
            {
                users.Of(p).Slice(batch.TargetUser[t] * d, d).CopyTo(u.AsSpan(t * 2 * d, d));
                xNew.AsSpan(t * d, d).CopyTo(u.AsSpan(t * 2 * d + d, d));
            }
            _user.Forward(p, b);
        }
        Loss.FusionForward(_logits.AsSpan(0, b), _headLogits.AsSpan(0, Heads * b), _alphas);
        _logits.AsSpan(0, b).CopyTo(logits);
    }

    /// <summary>Mean BCE of the last forward plus the L2 term (SPEC "Loss").</summary>
    public double LossOf(Batch batch, T[] p) =>
        Loss.BceForward<T>(_logits.AsSpan(0, _b), batch.Label) + Loss.L2Forward<T>(Layout, p, _c.L2);

    /// <summary>Backward of the last <see cref="Forward"/> (same batch and parameters): adds d(loss)/dθ to <paramref name="g"/>.</summary>
    public void Backward(Batch batch, T[] p, T[] g)
    {
        int b = _b, d = _d;
        System.Diagnostics.Debug.Assert(batch.TargetCount == b && batch.Label.Length == b);
        Buffers.Grow(ref _dlogits, b); Buffers.Grow(ref _dheadLogits, Heads * b);
        Loss.BceBackward<T>(_dlogits.AsSpan(0, b), _logits.AsSpan(0, b), batch.Label);
        Loss.FusionBackward<T>(_dheadLogits.AsSpan(0, Heads * b), _dlogits.AsSpan(0, b), _alphas);
        if (TrainsX) { Buffers.Grow(ref _dxNew, b * d); _dxNew.AsSpan(0, b * d).Clear(); }
        if (_user != null)
        {
            T[] du = _user.Backward(p, g, b);
            Span<T> dusers = _layout.UserMatrix!.Value.Of(g);
            // Fan-in: targets of one user add into one row, in target order (SPEC D13).
            for (int t = 0; t < b; t++)
            {
                Span<T> row = dusers.Slice(batch.TargetUser[t] * d, d);
                System.Numerics.Tensors.TensorPrimitives.Add(row, du.AsSpan(t * 2 * d, d), row);
            }
        }
        foreach (SequenceBranch s in _branches) s.Backward(p, g);
        if (TrainsX)
        {
            Span<T> dcat = _layout.Category!.Value.Of(g);
            for (int t = 0; t < b; t++) ItemEmbedding.ScatterGradient<T>(dcat, _items, _dxNew.AsSpan(t * d, d), batch.TargetItem[t]);
        }
        Loss.L2Backward<T>(g, Layout, p, _c.L2);
    }

    /// <summary>
    /// The click branch's attention weights α of target <paramref name="target"/> over its window (oldest position
    /// first), from the last <see cref="Forward"/>; read-only, for plots such as the paper's Fig. 7.
    /// </summary>
    public ReadOnlySpan<T> ClickAttention(int target) => _branches.Single(s => s.Clicks).Alpha(target);

    /// <summary>Forward, loss and backward; returns the loss.</summary>
    public double ForwardBackward(Batch batch, T[] p, T[] g, Span<T> logits)
    {
        Forward(batch, p, logits);
        double loss = LossOf(batch, p);
        Backward(batch, p, g);
        return loss;
    }

    /// <summary>
    /// One MLP head (SPEC D8) over a (B, I) input; its logits are row k of the (K,B) head logits. Its backward
    /// also adds the x_new part of du to dx_new when x has trained parts.
    /// </summary>
    private sealed class Head(CpuModel<T> model, HeadTensors t, int k)
    {
        private T[] _u = [], _z = [], _du = [], _dz = [];

        public int Inputs => t.Inputs;

        /// <summary>The (B, I) input buffer, for the caller to fill.</summary>
        public T[] Input(int b) { Buffers.Grow(ref _u, b * Inputs); return _u; }

        public void Forward(T[] p, int b)
        {
            int m = model._m, inputs = Inputs;
            Buffers.Grow(ref _z, b * m);
            Mlp.Forward(model._headLogits.AsSpan(k * b, b), _z.AsSpan(0, b * m), _u.AsSpan(0, b * inputs), t.W1.Of(p), t.B1.Of(p), t.W2.Of(p), t.B2.Of(p));
        }

        /// <summary>Adds the head's weight gradients and returns du (B, I).</summary>
        public T[] Backward(T[] p, T[] g, int b)
        {
            int m = model._m, inputs = Inputs;
            Buffers.Grow(ref _du, b * inputs); Buffers.Grow(ref _dz, b * m);
            Mlp.Backward(_du.AsSpan(0, b * inputs), t.W1.Of(g), t.B1.Of(g), t.W2.Of(g), t.B2.Of(g), _dz.AsSpan(0, b * m),
                model._dheadLogits.AsSpan(k * b, b), _z.AsSpan(0, b * m), _u.AsSpan(0, b * inputs), t.W1.Of(p), t.W2.Of(p));
            if (model.TrainsX) AddToDxNew(b);
            return _du;
        }

        /// <summary>dx_new[t] += du[t, XNewColumn : +D] for every target.</summary>
        private void AddToDxNew(int b)
        {
            int d = model._d, inputs = Inputs, from = t.XNewColumn;
            T[] dxNew = model._dxNew, du = _du;
            model._workers.For(b, (lo, hi) =>
            {
                for (int r = lo; r < hi; r++)
                {
                    Span<T> dx = dxNew.AsSpan(r * d, d);
                    System.Numerics.Tensors.TensorPrimitives.Add(dx, du.AsSpan(r * inputs + from, d), dx);
                }
            });
        }
    }

    /// <summary>
    /// The interest (click) or uninterest (not-click) branch: x of every position → graph-LSTM → attention of
    /// each target over its window → head on [f ; x_new] (SPEC D7, D8).
    /// </summary>
    private sealed class SequenceBranch
    {
        private readonly CpuModel<T> _model;
        private readonly BranchTensors _t;
        private readonly GraphLstm<T> _lstm;
        private readonly Head _head;
        private readonly BatchIndex _ix = new();
        // (N,D) x, (N,D) dx, (N,H) h, (N,H) dh; (B,H) query and its gradient; α of every window, concatenated.
        private T[] _x = [], _dx = [], _hs = [], _dhs = [], _q = [], _dq = [], _alpha = [];
        private long[] _seqWork = []; // (S+1) cumulative window positions per sequence, for the backward's split

        public SequenceBranch(CpuModel<T> model, BranchTensors t)
        {
            _model = model; _t = t;
            ModelConfig c = model._c;
            // x is gathered per item (below), so rows of one item may share their projection.
            _lstm = new GraphLstm<T>(model._d, model._h, c.UsesGraph, c.CStar, c.TopL, shareByItem: true);
            _head = new Head(model, t.Mlp, t.Head);
        }

        public void Forward(Batch batch, T[] p)
        {
            CpuModel<T> m = _model;
            int b = m._b, d = m._d, h = m._h, inputs = _head.Inputs;
            BatchIndex ix = _ix;
            ix.Build(batch, _t.Clicks);
            SequenceSet seqs = ix.Seqs;
            int n = seqs.TotalSteps;
            Buffers.Grow(ref _x, n * d); Buffers.Grow(ref _hs, n * h); Buffers.Grow(ref _q, b * h);
            T[] x = _x, hs = _hs, q = _q, xNew = m._xNew;
            TensorSlot? cat = m._layout.Category;
            m._workers.For(n, (lo, hi) =>
            {
                ReadOnlySpan<T> category = cat is { } c ? c.Of(p) : [];
                for (int i = lo; i < hi; i++) ItemEmbedding.Gather(x.AsSpan(i * d, d), m._items, category, seqs.Items[i]);
            });
            _lstm.Forward(_t.Wx.Of(p), _t.Wh.Of(p), Wg(p), _t.B.Of(p), seqs, x.AsSpan(0, n * d), hs.AsSpan(0, n * h));

            // The query: W_a x_new (bilinear) or x_new/√H (scaled dot), SPEC D7.
            if (_t.Wa is { } wa) Linear.Forward(q.AsSpan(0, b * h), xNew.AsSpan(0, b * d), wa.Of(p), [], h);
            else System.Numerics.Tensors.TensorPrimitives.Multiply(xNew.AsSpan(0, b * d), T.One / T.Sqrt(T.CreateTruncating(h)), q.AsSpan(0, b * h));

            Buffers.Grow(ref _alpha, ix.AlphaTotal);
            T[] alpha = _alpha, u = _head.Input(b);
            m._workers.For(b, (lo, hi) =>
            {
                for (int t = lo; t < hi; t++)
                {
                    int row = ix.RowStart[t], len = ix.Window(t);
                    // f goes straight into the head's input row [f ; x_new].
                    Attention.Forward(u.AsSpan(t * inputs, h), alpha.AsSpan(ix.AlphaOffset[t], len), hs.AsSpan(row * h, len * h), q.AsSpan(t * h, h));
                    xNew.AsSpan(t * d, d).CopyTo(u.AsSpan(t * inputs + h, d));
                }
            });
            _head.Forward(p, b);
        }

        public void Backward(T[] p, T[] g)
        {
            CpuModel<T> m = _model;
            int b = m._b, d = m._d, h = m._h, inputs = _head.Inputs;
            BatchIndex ix = _ix;
            SequenceSet seqs = ix.Seqs;
            int n = seqs.TotalSteps;
            T[] du = _head.Backward(p, g, b);

            Buffers.Grow(ref _dhs, n * h); Buffers.Grow(ref _dq, b * h);
            if (m.TrainsX) Buffers.Grow(ref _dx, n * d);
            T[] dhs = _dhs, dq = _dq, hs = _hs, q = _q, alpha = _alpha, u = _head.Input(b), xNew = m._xNew;
            dhs.AsSpan(0, n * h).Clear();
            // Windows of one sequence overlap in SharedPrefix mode (SPEC D12): each sequence's dh is owned by one
            // work item, which adds its targets in target order, so the fan-in sum is fixed (SPEC D13).
            // Sequences differ in length and in targets, so they are split by window positions, not by count
            // (a few sequences of very unequal work would leave threads idle); the split never changes a sum.
            int[] cut = BalancedCuts(seqs.Count, m._workers.Threads);
            m._workers.For(cut.Length - 1, (klo, khi) =>
            {
                for (int s = cut[klo]; s < cut[khi]; s++)
                    for (int i = ix.SeqTargets[s]; i < ix.SeqTargets[s + 1]; i++)
                    {
                        int t = ix.Order[i], row = ix.RowStart[t], len = ix.Window(t);
                        Attention.Backward(dhs.AsSpan(row * h, len * h), dq.AsSpan(t * h, h), du.AsSpan(t * inputs, h),
                            alpha.AsSpan(ix.AlphaOffset[t], len), hs.AsSpan(row * h, len * h), q.AsSpan(t * h, h), u.AsSpan(t * inputs, h));
                    }
            });
            if (_t.Wa is { } wa)
                Linear.Backward(m.TrainsX ? m._dxNew.AsSpan(0, b * d) : [], wa.Of(g), [], dq.AsSpan(0, b * h), xNew.AsSpan(0, b * d), wa.Of(p), h);
            else if (m.TrainsX)
            {
                Span<T> dxNew = m._dxNew.AsSpan(0, b * d);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(dq.AsSpan(0, b * h), T.One / T.Sqrt(T.CreateTruncating(h)), dxNew, dxNew);
            }

            // dx feeds only the category embedding's gradient: without one it is not computed (1/6 of the
            // layer's backward FLOPs): GraphLstm skips an empty dx.
            Span<T> dx = m.TrainsX ? _dx.AsSpan(0, n * d) : [];
            _lstm.Backward(_t.Wx.Of(p), _t.Wh.Of(p), Wg(p), _t.B.Of(p), seqs, _x.AsSpan(0, n * d), dhs.AsSpan(0, n * h), dx,
                _t.Wx.Of(g), _t.Wh.Of(g), Wg(g), _t.B.Of(g));
            if (m.TrainsX)
            {
                Span<T> dcat = m._layout.Category!.Value.Of(g);
                for (int i = 0; i < n; i++) ItemEmbedding.ScatterGradient<T>(dcat, m._items, _dx.AsSpan(i * d, d), seqs.Items[i]);
            }
        }

        /// <summary>
        /// Cuts [0, S) into at most <paramref name="parts"/> contiguous ranges of sequences with about equal
        /// window positions (the attention backward's work): range k is [cut[k], cut[k+1]).
        /// </summary>
        private int[] BalancedCuts(int sequences, int parts)
        {
            BatchIndex ix = _ix;
            Buffers.Grow(ref _seqWork, sequences + 1);
            long[] work = _seqWork;
            work[0] = 0;
            for (int s = 0; s < sequences; s++)
            {
                long w = 0;
                for (int i = ix.SeqTargets[s]; i < ix.SeqTargets[s + 1]; i++) w += ix.Window(ix.Order[i]);
                work[s + 1] = work[s] + w;
            }
            parts = Math.Max(1, Math.Min(parts, sequences));
            var cut = new int[parts + 1];
            cut[parts] = sequences;
            for (int k = 1, s = 0; k < parts; k++)
            {
                long goal = work[sequences] * k / parts;
                while (s < sequences && work[s] < goal) s++;
                cut[k] = s;
            }
            return cut;
        }

        private Span<T> Wg(T[] flat) => _t.Wg is { } w ? w.Of(flat) : [];

        public bool Clicks => _t.Clicks;

        /// <summary>α of target t over its window, from the last forward.</summary>
        public ReadOnlySpan<T> Alpha(int t) => _alpha.AsSpan(_ix.AlphaOffset[t], _ix.Window(t));
    }
}
