using System.Numerics;
using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// ATRank (Zhou et al., AAAI 2018): the user's ≤ W most recent clicks and ≤ W most recent not-clicks are two behaviour
/// types; each behaviour is its item's visual vector projected into the shared space by its type's own map plus a
/// time-bucket embedding, u_j = W_type x_j + b_type + T[bucket(t − t_j)] (Sec. "Raw Feature Spaces" and "Behavior
/// Embedding", buckets by powers of two of the time gap), then one <see cref="SelfAttention"/> block (Sec.
/// "Self-Attention Layer") and vanilla attention with the target (Sec. "Downstream Application Network"):
/// α = softmax(Y W_a t), f = Σ α_j Y_j (<see cref="Attention"/>). The paper under reproduction gives ATRank ALPINE's
/// prediction layer (Sec. 4.3), the MLP over [f ; t] (SPEC D8). docs/BASELINES.md "ATRank".
/// </summary>
public sealed class Atrank : BaselineNet
{
    /// <summary>Time-gap buckets ⌊log₂(1 + Δt)⌋: 40 cover gaps to 2⁴⁰ in the log's unit (decades in milliseconds).</summary>
    public const int Buckets = 40;

    private readonly ItemProjection _click, _notClick, _target;
    private readonly TensorSlot _time, _wa;
    private readonly SelfAttention _self;
    private readonly Tower _head;
    private readonly int _dim;

    public Atrank(ItemTable items, int window = 25, int dim = 64, int heads = 8, int ffHidden = 64, int mlpHidden = 128) : base(items, window)
    {
        _dim = dim;
        _click = new ItemProjection(Layout, "atrank.click", items.VisualDim, dim);
        _notClick = new ItemProjection(Layout, "atrank.notClick", items.VisualDim, dim);
        _time = Layout.Add("atrank.time", Buckets, dim, TensorKind.Embedding);
        _self = new SelfAttention(Layout, "atrank.self", dim, heads, ffHidden);
        _target = new ItemProjection(Layout, "atrank.target", items.VisualDim, dim);
        _wa = Layout.Add("atrank.Wa", dim, dim, TensorKind.Weight);
        _head = new Tower(Layout, "atrank.head", 2 * dim, mlpHidden, 1);
    }

    private int Rows => 2 * Window;

    public static int Bucket(long gap) => Math.Min(Buckets - 1, BitOperations.Log2((ulong)Math.Max(0, gap) + 1));

    /// <summary>
    /// The behaviours a group reads: [cLo, cHi) of its user's click sequence and [nLo, nHi) of the not-clicks, the
    /// union of its targets' windows; m = the rows of both.
    /// </summary>
    private (int CLo, int CHi, int NLo, int NHi) Reads(PreparedData data, ReadOnlySpan<int> positions)
    {
        int cLo = int.MaxValue, cHi = 0, nLo = int.MaxValue, nHi = 0;
        foreach (int q in positions)
        {
            int c = data.ClickHistEnd[q], n = data.NotClickHistEnd[q];
            (cLo, cHi) = (Math.Min(cLo, Math.Max(0, c - Window)), Math.Max(cHi, c));
            (nLo, nHi) = (Math.Min(nLo, Math.Max(0, n - Window)), Math.Max(nHi, n));
        }
        return (Math.Min(cLo, cHi), cHi, Math.Min(nLo, nHi), nHi);
    }

    // group act: X (m, D), P (m, d) the behaviours' type projections, their Q, K, V (3 × (m, d)) with the biases,
    // the time embeddings' Q, K, V (3 × (B, d)) without; then per target:
    // x_t (D), U = P + T[bucket] (Rows, d), self-attention, q (d), α (Rows), head input [f ; t] (2d), head
    private int TargetBlock => VisualDim + Rows * _dim + _self.ActivationSize(Rows) + _dim + Rows + 2 * _dim + _head.ActivationSize(1);
    private int OffTargets(int m) => m * (VisualDim + 4 * _dim) + 3 * Buckets * _dim;

    /// <summary>Row j of target q's behaviours (clicks first, then not-clicks): its row in the group's P and its time bucket.</summary>
    private void BehaviourRows(ImpressionTargets targets, int q, (int CLo, int CHi, int NLo, int NHi) reads, Span<int> row, Span<int> bucket)
    {
        PreparedData data = targets.Data;
        int u = targets.UserOf[q], cEnd = data.ClickHistEnd[q], cStart = Math.Max(0, cEnd - Window);
        int nEnd = data.NotClickHistEnd[q], nStart = Math.Max(0, nEnd - Window), c = cEnd - cStart, mc = reads.CHi - reads.CLo;
        long now = data.Timestamp[q];
        for (int i = 0; i < c; i++)
        {
            row[i] = cStart + i - reads.CLo;
            bucket[i] = Bucket(now - targets.ClickTime[data.ClickOffsets[u] + cStart + i]);
        }
        for (int i = 0; i < nEnd - nStart; i++)
        {
            row[c + i] = mc + nStart + i - reads.NLo;
            bucket[c + i] = Bucket(now - targets.NotClickTime[data.NotClickOffsets[u] + nStart + i]);
        }
    }

    private static int Count(PreparedData data, int q, int window) =>
        data.ClickHistEnd[q] - Math.Max(0, data.ClickHistEnd[q] - window) + data.NotClickHistEnd[q] - Math.Max(0, data.NotClickHistEnd[q] - window);

    public override void ForwardGroup<T>(ReadOnlySpan<T> p, ImpressionTargets targets, ReadOnlySpan<int> positions, Span<T> logits, GroupWork<T> work)
    {
        PreparedData data = targets.Data;
        int d = _dim, dv = VisualDim, u = targets.UserOf[positions[0]];
        var reads = Reads(data, positions);
        int mc = reads.CHi - reads.CLo, m = mc + reads.NHi - reads.NLo;
        Span<T> act = work.Activations(OffTargets(m) + positions.Length * TargetBlock);
        Span<T> x = act[..(m * dv)], pr = act.Slice(m * dv, m * d), pq = act.Slice(m * (dv + d), 3 * m * d), tq = act.Slice(m * (dv + 4 * d), 3 * Buckets * d);
        Features(x[..(mc * dv)], data.ClickItem.AsSpan(data.ClickOffsets[u] + reads.CLo, mc));
        Features(x[(mc * dv)..], data.NotClickItem.AsSpan(data.NotClickOffsets[u] + reads.NLo, m - mc));
        _click.Forward(p, x[..(mc * dv)], pr[..(mc * d)]);
        _notClick.Forward(p, x[(mc * dv)..], pr[(mc * d)..]);
        // Q(P_j + T_b) = P_j W_Qᵀ + b_Q + T_b W_Qᵀ: the behaviour's part once per group, the bucket's once per group.
        _self.Project(p, pr, pq[..(m * d)], pq.Slice(m * d, m * d), pq[(2 * m * d)..], bias: true);
        ReadOnlySpan<T> time = _time.Of(p);
        _self.Project(p, time, tq[..(Buckets * d)], tq.Slice(Buckets * d, Buckets * d), tq[(2 * Buckets * d)..], bias: false);
        Span<int> row = stackalloc int[Rows], bucket = stackalloc int[Rows];
        for (int k = 0; k < positions.Length; k++)
        {
            int q = positions[k], n = Count(data, q, Window);
            BehaviourRows(targets, q, reads, row, bucket);
            Block<T> b = new(act.Slice(OffTargets(m) + k * TargetBlock, TargetBlock), this);
            Span<T> un = b.U[..(n * d)], self = b.Self[.._self.ActivationSize(n)];
            for (int j = 0; j < n; j++)
            {
                TensorPrimitives.Add(pr.Slice(row[j] * d, d), time.Slice(bucket[j] * d, d), un.Slice(j * d, d));
                for (int w = 0; w < 3; w++)
                    TensorPrimitives.Add(pq.Slice(w * m * d + row[j] * d, d), tq.Slice((w * Buckets + bucket[j]) * d, d), _self.Projection(self, n, w).Slice(j * d, d));
            }
            _self.Attend(p, un, self, n);
            Features(b.Xt, [data.Item[q]]);
            Span<T> hin = b.Hin;
            _target.Forward(p, b.Xt, hin[d..]);
            Linear.Forward(b.Q, hin[d..], _wa.Of(p), [], d, parallel: false);
            Attention.Forward(hin[..d], b.Alpha[..n], _self.Output<T>(self, n), b.Q);
            _head.Forward(p, hin, b.Head, 1);
            logits[k] = _head.Output(b.Head, 1)[0];
        }
    }

    public override void BackwardGroup<T>(ReadOnlySpan<T> p, Span<T> g, ImpressionTargets targets, ReadOnlySpan<int> positions,
        ReadOnlySpan<T> dlogits, GroupWork<T> work)
    {
        PreparedData data = targets.Data;
        int d = _dim, dv = VisualDim, R = Rows;
        var reads = Reads(data, positions);
        int mc = reads.CHi - reads.CLo, m = mc + reads.NHi - reads.NLo;
        Span<T> act = work.Activations(OffTargets(m) + positions.Length * TargetBlock);
        ReadOnlySpan<T> x = act[..(m * dv)], pr = act.Slice(m * dv, m * d);
        // scratch: dP (m, d), dQ/dK/dV of the behaviours (3 × (m, d)) and of the buckets (3 × (B, d)), dHin (2d), dq (d),
        // dY (Rows, d), dU (Rows, d), layer scratch
        int fixedSize = 4 * m * d + 3 * Buckets * d + 3 * d + 2 * R * d;
        Span<T> scratch = work.Scratch(fixedSize + Math.Max(_self.ScratchSize(R), _head.ScratchSize(1)));
        Span<T> dP = scratch[..(m * d)], dPq = scratch.Slice(m * d, 3 * m * d), dTq = scratch.Slice(4 * m * d, 3 * Buckets * d);
        Span<T> dHin = scratch.Slice(4 * m * d + 3 * Buckets * d, 2 * d), dq = scratch.Slice(4 * m * d + 3 * Buckets * d + 2 * d, d);
        Span<T> dY = scratch.Slice(4 * m * d + 3 * Buckets * d + 3 * d, R * d), dU = scratch.Slice(4 * m * d + 3 * Buckets * d + 3 * d + R * d, R * d);
        Span<T> layerScratch = scratch[fixedSize..];
        scratch[..(4 * m * d + 3 * Buckets * d)].Clear();
        Span<T> dTime = _time.Of(g);
        Span<int> row = stackalloc int[R], bucket = stackalloc int[R];
        for (int k = 0; k < positions.Length; k++)
        {
            int q = positions[k], n = Count(data, q, Window);
            BehaviourRows(targets, q, reads, row, bucket);
            Block<T> b = new(act.Slice(OffTargets(m) + k * TargetBlock, TargetBlock), this);
            ReadOnlySpan<T> self = b.Self[.._self.ActivationSize(n)], y = _self.Output<T>(self, n), hin = b.Hin;
            dHin.Clear();
            _head.Backward(p, g, dHin, [dlogits[k]], hin, b.Head, layerScratch, 1);
            Span<T> dyn = dY[..(n * d)], dun = dU[..(n * d)];
            dyn.Clear();
            Attention.Backward(dyn, dq, dHin[..d], b.Alpha[..n], y, b.Q, hin[..d]);
            Span<T> dt = dHin[d..];
            Linear.Backward(dt, _wa.Of(g), [], dq, hin[d..], _wa.Of(p), d, parallel: false);
            _target.Backward(p, g, dt, b.Xt);

            dun.Clear();
            _self.BackwardAttention(p, g, dun, dyn, self, layerScratch, n);
            for (int j = 0; j < n; j++)
            {
                Span<T> dPj = dP.Slice(row[j] * d, d), dTj = dTime.Slice(bucket[j] * d, d);
                ReadOnlySpan<T> duj = dun.Slice(j * d, d);
                TensorPrimitives.Add(dPj, duj, dPj);
                TensorPrimitives.Add(dTj, duj, dTj);
                for (int w = 0; w < 3; w++)
                {
                    ReadOnlySpan<T> dwj = _self.Projection(layerScratch, n, w).Slice(j * d, d);
                    Span<T> a = dPq.Slice(w * m * d + row[j] * d, d), c = dTq.Slice((w * Buckets + bucket[j]) * d, d);
                    TensorPrimitives.Add(a, dwj, a);
                    TensorPrimitives.Add(c, dwj, c);
                }
            }
        }
        _self.ProjectBackward(p, g, dP, pr, dPq[..(m * d)], dPq.Slice(m * d, m * d), dPq[(2 * m * d)..], bias: true);
        _self.ProjectBackward(p, g, dTime, _time.Of(p), dTq[..(Buckets * d)], dTq.Slice(Buckets * d, Buckets * d), dTq[(2 * Buckets * d)..], bias: false);
        _click.Backward(p, g, dP[..(mc * d)], x[..(mc * dv)]);
        _notClick.Backward(p, g, dP[(mc * d)..], x[(mc * dv)..]);
    }

    /// <summary>One target's slice of the group's activations.</summary>
    private readonly ref struct Block<T>
    {
        public readonly Span<T> Xt, U, Self, Q, Alpha, Hin, Head;

        public Block(Span<T> block, Atrank net)
        {
            int d = net._dim, r = net.Rows, dv = net.VisualDim, self = net._self.ActivationSize(r);
            Xt = block[..dv];
            U = block.Slice(dv, r * d);
            Self = block.Slice(dv + r * d, self);
            Q = block.Slice(dv + r * d + self, d);
            Alpha = block.Slice(dv + r * d + self + d, r);
            Hin = block.Slice(dv + r * d + self + d + r, 2 * d);
            Head = block[(dv + r * d + self + 3 * d + r)..];
        }
    }
}
