using Alpine.Kernels.Attention;
using Alpine.Kernels.Device;
using Alpine.Kernels.Gemm;
using Alpine.Kernels.GraphLstm;
using Alpine.Kernels.Mlp;
using Alpine.Model;
using Alpine.Prep;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Backend;

public sealed partial class GpuModel
{
    /// <summary>
    /// One MLP head (SPEC D8) over a (B, I) input; its logits are row k of the (K, B) head logits. Its backward
    /// also adds the x_new part of du to dx_new when x has trained parts.
    /// </summary>
    private sealed class Head : IDisposable
    {
        private readonly GpuModel _model;
        private readonly GpuMlp _mlp;
        private readonly HeadTensors _t;
        private readonly DeviceArray<float> _u, _z, _du, _dz; // (B,I), (B,M), (B,I), (B,M)

        public Head(GpuModel model, HeadTensors t)
        {
            _model = model; _t = t;
            _mlp = new GpuMlp(model._k);
            Accelerator a = model._k.Accelerator;
            (_u, _z, _du, _dz) = (new(a), new(a), new(a), new(a));
        }

        public int Inputs => _t.Inputs;

        /// <summary>The (B, I) input, for the caller to fill before <see cref="Forward"/>.</summary>
        public ArrayView<float> Input(int b) => _u.Ensure((long)b * Inputs);

        /// <summary>The (B, I) input as <see cref="Forward"/> read it.</summary>
        public ArrayView<float> U => _u.View.SubView(0, (long)_model._b * Inputs);

        public void Forward(ArrayView<float> p, ArrayView<float> y /*(B)*/)
        {
            int b = _model._b, m = _model._m;
            var z = _z.Ensure((long)b * m);
            if (b == 0) return;
            _mlp.Forward(y, z, U, b, Inputs, m, Of(_t.W1, p), Of(_t.B1, p), Of(_t.W2, p), Of(_t.B2, p));
        }

        /// <summary>Adds the head's weight gradients and returns du (B, I).</summary>
        public ArrayView<float> Backward(ArrayView<float> p, ArrayView<float> g, ArrayView<float> dy /*(B)*/)
        {
            int b = _model._b, m = _model._m;
            var du = _du.Ensure((long)b * Inputs);
            var dz = _dz.Ensure((long)b * m);
            if (b == 0) return du;
            _mlp.Backward(du, Of(_t.W1, g), Of(_t.B1, g), Of(_t.W2, g), Of(_t.B2, g), dz, dy, _z.View.SubView(0, (long)b * m), U,
                b, Inputs, m, Of(_t.W1, p), Of(_t.W2, p));
            // dx_new[t] += du[t, XNewColumn : +D] for every target.
            int d = _model._d;
            if (_model.TrainsX) _model._k.CopyBlock(b * d, RowBlock.Copy(d, Inputs, _t.XNewColumn, d, 0, accumulate: true), du, _model.DxNew());
            return du;
        }

        public void Dispose()
        {
            _mlp.Dispose();
            foreach (var a in new[] { _u, _z, _du, _dz }) a.Dispose();
        }
    }

    /// <summary>
    /// The interest (click) or uninterest (not-click) branch: x of every position → graph-LSTM → attention of each
    /// target over its window → head on [f ; x_new] (SPEC D7, D8).
    /// </summary>
    private sealed class Branch : IDisposable
    {
        private readonly GpuModel _model;
        private readonly BranchTensors _t;
        private readonly GpuGraphLstm _lstm;
        private readonly GpuAttention _attention;
        private readonly Head _head;
        private readonly BatchIndex _ix = new();
        // (N,D) x; (B,H) query and its gradient; (N,H) dh; α of every window, concatenated.
        private readonly DeviceArray<float> _x, _q, _dq, _dhs, _alpha;
        // Per batch, in the index upload: the items of every position (N); each target's first row in hs (B) and
        // its α offset (B+1); each row's sequence (N); the targets grouped by sequence, by window start (B, S+1).
        private IndexRange _items, _rowStart, _alphaOffset, _rowSequence, _order, _seqTargets;
        private int _n, _firstDxRow;
        private long[] _sortKey = [];

        public Branch(GpuModel model, BranchTensors t)
        {
            _model = model; _t = t;
            ModelConfig c = model._c;
            _lstm = new GpuGraphLstm(model._k, model._d, model._h, c.UsesGraph, c.CStar, c.TopL);
            _attention = new GpuAttention(model._k);
            _head = new Head(model, t.Mlp);
            Accelerator a = model._k.Accelerator;
            (_x, _q, _dq, _dhs, _alpha) = (new(a), new(a), new(a), new(a), new(a));
        }

        /// <summary>The item of every position of the packed batch, in row order.</summary>
        public int[] Items => _ix.Seqs.Items;

        /// <summary>
        /// Puts the branch's <see cref="BatchIndex"/> into the batch's upload, with each row's sequence and each
        /// sequence's targets sorted by window start (<see cref="GpuAttention.SortByStart"/>). Returns the number of
        /// rows N; <paramref name="firstDxRow"/> is where they start in the model's dx buffer.
        /// </summary>
        public int Pack(Batch batch, IndexUpload up, int firstDxRow)
        {
            BatchIndex ix = _ix;
            ix.Build(batch, _t.Clicks);
            SequenceSet seqs = ix.Seqs;
            int n = seqs.TotalSteps, b = batch.TargetCount, count = seqs.Count;
            (_n, _firstDxRow) = (n, firstDxRow);
            _lstm.Pack(seqs, up);
            (_items, _rowStart, _alphaOffset) = (up.Add(n), up.Add(b), up.Add(b + 1));
            (_rowSequence, _order, _seqTargets) = (up.Add(n), up.Add(b), up.Add(count + 1));
            seqs.Items.AsSpan().CopyTo(up.Host(_items));
            ix.RowStart.AsSpan(0, b).CopyTo(up.Host(_rowStart));
            ix.AlphaOffset.AsSpan(0, b + 1).CopyTo(up.Host(_alphaOffset));
            ix.SeqTargets.AsSpan(0, count + 1).CopyTo(up.Host(_seqTargets));
            Span<int> rowSeq = up.Host(_rowSequence), order = up.Host(_order);
            for (int s = 0; s < count; s++) rowSeq[seqs.Offsets[s]..seqs.Offsets[s + 1]].Fill(s);
            ix.Order.AsSpan(0, b).CopyTo(order);
            // Within a sequence by window start (ties in target order), so the attention's fan-in finds each row's
            // covering targets by binary search.
            if (_sortKey.Length < b) _sortKey = new long[b];
            GpuAttention.SortByStart(order, ix.SeqTargets.AsSpan(0, count + 1), ix.RowStart.AsSpan(0, b), _sortKey);
            return n;
        }

        private ArrayView<int> V(IndexRange r) => _model._up.View(r);

        private LstmWeightViews Weights(ArrayView<float> flat) => new()
        {
            Wx = Of(_t.Wx, flat), Wh = Of(_t.Wh, flat), Wg = _t.Wg is { } wg ? Of(wg, flat) : default, B = Of(_t.B, flat),
        };

        private ArrayView<float> XNew => _model._xNew.View.SubView(0, (long)_model._b * _model._d);

        public void Forward(ArrayView<float> p)
        {
            GpuModel m = _model;
            KernelSet k = m._k;
            int b = m._b, d = m._d, h = m._h, inputs = _head.Inputs;
            var x = _x.Ensure((long)_n * d);
            m.GatherX(x, V(_items), p);
            _lstm.Forward(Weights(p), x, m.Schedule);
            var q = _q.Ensure((long)b * h);
            var alpha = _alpha.Ensure(_ix.AlphaTotal);
            var u = _head.Input(b);
            if (b > 0)
            {
                // The query: W_a x_new (bilinear) or x_new/√H (scaled dot, H = D), SPEC D7.
                if (_t.Wa is { } wa) k.RunGemm(new GemmDims { M = b, N = h, K = d, Sam = d, Sak = 1, Sbk = 1, Sbn = d, Ldc = h }, XNew, Of(wa, p), default, q);
                else k.CopyBlock(b * h, RowBlock.Copy(h, d, 0, h, 0, 1f / MathF.Sqrt(h)), XNew, q);
                // f goes straight into the head's input row [f ; x_new].
                _attention.Forward(b, h, u, inputs, alpha, V(_alphaOffset), V(_rowStart), _lstm.Hidden, q);
                k.CopyBlock(b * d, RowBlock.Copy(d, d, 0, inputs, h), XNew, u);
            }
            _head.Forward(p, m.HeadLogits(_t.Head));
        }

        public void Backward(ArrayView<float> p, ArrayView<float> g)
        {
            GpuModel m = _model;
            KernelSet k = m._k;
            int b = m._b, d = m._d, h = m._h, inputs = _head.Inputs;
            var du = _head.Backward(p, g, m.DHeadLogits(_t.Head));
            var dhs = _dhs.Ensure((long)_n * h);
            var dq = _dq.Ensure((long)b * h);
            if (_n > 0) dhs.MemSetToZero();
            if (b > 0)
            {
                var q = _q.View.SubView(0, (long)b * h);
                _attention.Backward(b, h, dhs, dq, du, _head.U, inputs, _alpha.View.SubView(0, _ix.AlphaTotal), V(_alphaOffset), V(_rowStart),
                    V(_rowSequence), V(_order), V(_seqTargets), _ix.MaxWindow, _lstm.Hidden, q);
                if (_t.Wa is { } wa)
                {
                    // dx_new += dq·W_a (thacil only); dW_a += dqᵀ·x_new.
                    if (m.TrainsX) k.RunGemm(new GemmDims { M = b, N = d, K = h, Sam = h, Sak = 1, Sbk = d, Sbn = 1, Ldc = d, Accumulate = 1 }, dq, Of(wa, p), default, m.DxNew());
                    k.RunGemm(new GemmDims { M = h, N = d, K = b, Sam = 1, Sak = h, Sbk = d, Sbn = 1, Ldc = d, Accumulate = 1 }, dq, XNew, default, Of(wa, g));
                }
                else if (m.TrainsX) k.CopyBlock(b * d, RowBlock.Copy(d, h, 0, d, 0, 1f / MathF.Sqrt(h), accumulate: true), dq, m.DxNew());
            }
            // The LSTM's dx only where x has trained parts (thacil's category embedding), as in CpuModel.
            _lstm.Backward(Weights(p), _x.View.SubView(0, (long)_n * d), dhs, m.TrainsX ? m.DxRows(_firstDxRow, _n) : default, Weights(g), m.Schedule);
        }

        public void Dispose()
        {
            _lstm.Dispose();
            _attention.Dispose();
            _head.Dispose();
            foreach (var a in new[] { _x, _q, _dq, _dhs, _alpha }) a.Dispose();
        }
    }
}
