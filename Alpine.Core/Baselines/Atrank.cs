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
public sealed class Atrank : PerTargetNet
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

    // act: X (Rows, D), x_t (D), U (Rows, d), self-attention, q (d), α (Rows), head input [f ; t] (2d), head
    private int OffXt => Rows * VisualDim;
    private int OffU => OffXt + VisualDim;
    private int OffSelf => OffU + Rows * _dim;
    private int OffQ => OffSelf + _self.ActivationSize(Rows);
    private int OffAlpha => OffQ + _dim;
    private int OffHin => OffAlpha + Rows;
    private int OffHead => OffHin + 2 * _dim;
    public override int ActivationSize => OffHead + _head.ActivationSize(1);
    // scratch: dHin (2d), dq (d), dY (Rows, d), dU (Rows, d), layer scratch
    public override int ScratchSize => 3 * _dim + 2 * Rows * _dim + Math.Max(_self.ScratchSize(Rows), _head.ScratchSize(1));

    public override T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act)
    {
        int c = t.Clicks.Length, n = c + t.NotClicks.Length, d = _dim, dv = VisualDim;
        Span<T> x = act[..(n * dv)], xt = act.Slice(OffXt, dv), u = act.Slice(OffU, n * d);
        Features(x[..(c * dv)], t.Clicks);
        Features(x[(c * dv)..], t.NotClicks);
        Features(xt, [t.Item]);
        _click.Forward(p, x[..(c * dv)], u[..(c * d)]);
        _notClick.Forward(p, x[(c * dv)..], u[(c * d)..]);
        ReadOnlySpan<T> time = _time.Of(p);
        for (int j = 0; j < n; j++)
        {
            Span<T> uj = u.Slice(j * d, d);
            TensorPrimitives.Add(uj, time.Slice(Bucket(t.Time - TimeOf(t, j)) * d, d), uj);
        }

        Span<T> self = act.Slice(OffSelf, _self.ActivationSize(n)), q = act.Slice(OffQ, d), alpha = act.Slice(OffAlpha, n);
        Span<T> hin = act.Slice(OffHin, 2 * d);
        _self.Forward(p, u, self, n);
        _target.Forward(p, xt, hin[d..]);
        Linear.Forward(q, hin[d..], _wa.Of(p), [], d, parallel: false);
        Attention.Forward(hin[..d], alpha, _self.Output<T>(self, n), q);
        Span<T> head = act.Slice(OffHead, _head.ActivationSize(1));
        _head.Forward(p, hin, head, 1);
        return _head.Output(head, 1)[0];
    }

    public override void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
    {
        int c = t.Clicks.Length, n = c + t.NotClicks.Length, d = _dim, dv = VisualDim;
        ReadOnlySpan<T> x = act[..(n * dv)], xt = act.Slice(OffXt, dv), u = act.Slice(OffU, n * d);
        ReadOnlySpan<T> self = act.Slice(OffSelf, _self.ActivationSize(n)), q = act.Slice(OffQ, d), alpha = act.Slice(OffAlpha, n);
        ReadOnlySpan<T> hin = act.Slice(OffHin, 2 * d), y = _self.Output(self, n);
        Span<T> dHin = scratch[..(2 * d)], dq = scratch.Slice(2 * d, d), dY = scratch.Slice(3 * d, n * d);
        Span<T> dU = scratch.Slice(3 * d + Rows * d, n * d), layerScratch = scratch[(3 * d + 2 * Rows * d)..];

        dHin.Clear();
        _head.Backward(p, g, dHin, [dlogit], hin, act.Slice(OffHead, _head.ActivationSize(1)), layerScratch, 1);
        dY.Clear();
        Attention.Backward(dY, dq, dHin[..d], alpha, y, q, hin[..d]);
        Span<T> dt = dHin[d..];
        Linear.Backward(dt, _wa.Of(g), [], dq, hin[d..], _wa.Of(p), d, parallel: false);
        _target.Backward(p, g, dt, xt);

        dU.Clear();
        _self.Backward(p, g, dU, dY, u, self, layerScratch, n);
        Span<T> dTime = _time.Of(g);
        for (int j = 0; j < n; j++)
        {
            Span<T> row = dTime.Slice(Bucket(t.Time - TimeOf(t, j)) * d, d);
            TensorPrimitives.Add(row, dU.Slice(j * d, d), row);
        }
        _click.Backward(p, g, dU[..(c * d)], x[..(c * dv)]);
        _notClick.Backward(p, g, dU[(c * d)..], x[(c * dv)..]);
    }

    /// <summary>The time of behaviour j: the clicks first, then the not-clicks.</summary>
    private static long TimeOf(in Target t, int j) => j < t.Clicks.Length ? t.ClickTimes[j] : t.NotClickTimes[j - t.Clicks.Length];
}
