using System.Numerics;
using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Baselines;

/// <summary>
/// One self-attention block over n vectors (Vaswani et al. 2017, as ATRank's Sec. "Self-Attention Layer" uses it):
/// heads of scaled dot-product attention softmax(Q_h K_hᵀ / √d_h) V_h over the projections Q = X W_Qᵀ + b_Q (and
/// K, V), concatenated and projected, Z = X + O W_Oᵀ + b_O, then Y = Z + FFN(Z) with a ReLU feed-forward layer.
/// No layer normalisation (docs/BASELINES.md "ATRank"). <c>causal</c> masks it forward (THACIL's "forward"
/// self-attention): position i attends to positions j ≤ i only. Tensors <c>{name}.{q,k,v,o}.W/b</c> and <c>{name}.ffn.*</c>.
/// </summary>
public sealed class SelfAttention
{
    private readonly TensorSlot[] _w = new TensorSlot[4], _b = new TensorSlot[4];
    private readonly Tower _ffn;
    private readonly int _dim, _heads;
    private readonly bool _causal;

    public SelfAttention(ParameterLayout layout, string name, int dim, int heads, int ffHidden, bool causal = false)
    {
        _causal = causal;
        System.Diagnostics.Debug.Assert(dim % heads == 0);
        _dim = dim;
        _heads = heads;
        string[] parts = ["q", "k", "v", "o"];
        for (int i = 0; i < 4; i++)
        {
            _w[i] = layout.Add($"{name}.{parts[i]}.W", dim, dim, TensorKind.Weight);
            _b[i] = layout.Add($"{name}.{parts[i]}.b", 1, dim, TensorKind.Bias);
        }
        _ffn = new Tower(layout, $"{name}.ffn", dim, ffHidden, dim);
    }

    // act: Q, K, V, O, Z, Y (n, d) each, A (heads, n, n), FFN activations
    public int ActivationSize(int n) => 6 * n * _dim + _heads * n * n + _ffn.ActivationSize(n);
    // scratch: dQ, dK, dV, dO, dZ (n, d) each, dA row (n), FFN scratch
    public int ScratchSize(int n) => 5 * n * _dim + n + _ffn.ScratchSize(n);

    /// <summary>Y (n, d) within <paramref name="act"/>.</summary>
    public ReadOnlySpan<T> Output<T>(ReadOnlySpan<T> act, int n) => act.Slice(5 * n * _dim, n * _dim);
    public Span<T> Output<T>(Span<T> act, int n) => act.Slice(5 * n * _dim, n * _dim);

    /// <summary>Q, K or V (<paramref name="which"/> 0, 1, 2; each (n, d)) within the activations or within the scratch after <see cref="BackwardAttention{T}"/>.</summary>
    public Span<T> Projection<T>(Span<T> buffer, int n, int which) => buffer.Slice(which * n * _dim, n * _dim);

    public void Forward<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x /*(n,d)*/, Span<T> act, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n == 0) return;
        Project(p, x, Projection(act, n, 0), Projection(act, n, 1), Projection(act, n, 2), bias: true);
        Attend(p, x, act, n);
    }

    /// <summary>
    /// Q, K, V (m, d) of any m rows x: x W_Qᵀ (+ b_Q with <paramref name="bias"/>), and K, V likewise. Linear, so a
    /// caller whose rows are sums (ATRank's behaviour + time embedding) may project the terms apart and add.
    /// </summary>
    public void Project<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x, Span<T> q, Span<T> k, Span<T> v, bool bias) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Linear.Forward(q, x, _w[0].Of(p), bias ? _b[0].Of(p) : [], _dim, parallel: false);
        Linear.Forward(k, x, _w[1].Of(p), bias ? _b[1].Of(p) : [], _dim, parallel: false);
        Linear.Forward(v, x, _w[2].Of(p), bias ? _b[2].Of(p) : [], _dim, parallel: false);
    }

    /// <summary>The block from Q, K, V already in <paramref name="act"/> (<see cref="Projection{T}"/>): the rest of <see cref="Forward{T}"/>.</summary>
    public void Attend<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x /*(n,d)*/, Span<T> act, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n == 0) return;
        int d = _dim, nd = n * d, dh = d / _heads;
        Span<T> q = act[..nd], k = act.Slice(nd, nd), v = act.Slice(2 * nd, nd), o = act.Slice(3 * nd, nd), z = act.Slice(4 * nd, nd), y = act.Slice(5 * nd, nd);
        Span<T> a = act.Slice(6 * nd, _heads * n * n), ffn = act.Slice(6 * nd + _heads * n * n, _ffn.ActivationSize(n));
        T scale = T.One / T.Sqrt(T.CreateTruncating(dh));
        // Heads are narrow (d_h = 8 at the defaults): plain loops over a head's columns, where a vector call per
        // (i, j) pair costs more than its arithmetic.
        for (int h = 0; h < _heads; h++)
            for (int i = 0; i < n; i++)
            {
                Span<T> ai = a.Slice((h * n + i) * n, _causal ? i + 1 : n);
                ReadOnlySpan<T> qi = q.Slice(i * d + h * dh, dh);
                for (int j = 0; j < ai.Length; j++)
                {
                    ReadOnlySpan<T> kj = k.Slice(j * d + h * dh, dh);
                    T dot = T.Zero;
                    for (int c = 0; c < dh; c++) dot += qi[c] * kj[c];
                    ai[j] = dot * scale;
                }
                Softmax(ai);
                Span<T> oi = o.Slice(i * d + h * dh, dh);
                oi.Clear();
                for (int j = 0; j < ai.Length; j++)
                {
                    ReadOnlySpan<T> vj = v.Slice(j * d + h * dh, dh);
                    T aij = ai[j];
                    for (int c = 0; c < dh; c++) oi[c] += aij * vj[c];
                }
            }
        x.CopyTo(z);
        Linear.Forward(y, o, _w[3].Of(p), _b[3].Of(p), d, parallel: false); // y as scratch for O W_Oᵀ + b_O
        TensorPrimitives.Add(z, y, z);
        _ffn.Forward(p, z, ffn, n);
        TensorPrimitives.Add(z, _ffn.Output(ffn, n), y);
    }

    /// <summary>From dY (n, d): parameter gradients accumulate, dX (n, d) accumulates.</summary>
    public void Backward<T>(ReadOnlySpan<T> p, Span<T> g, Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> act,
        Span<T> scratch, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n == 0) return;
        BackwardAttention(p, g, dx, dy, act, scratch, n);
        ProjectBackward(p, g, dx, x, Projection(scratch, n, 0), Projection(scratch, n, 1), Projection(scratch, n, 2), bias: true);
    }

    /// <summary>The backward of <see cref="Project{T}"/>: W (and b with <paramref name="bias"/>) gradients accumulate, dx += dQ W_Q + dK W_K + dV W_V.</summary>
    public void ProjectBackward<T>(ReadOnlySpan<T> p, Span<T> g, Span<T> dx, ReadOnlySpan<T> x, ReadOnlySpan<T> dq, ReadOnlySpan<T> dk,
        ReadOnlySpan<T> dv, bool bias) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Linear.Backward(dx, _w[0].Of(g), bias ? _b[0].Of(g) : [], dq, x, _w[0].Of(p), _dim, parallel: false);
        Linear.Backward(dx, _w[1].Of(g), bias ? _b[1].Of(g) : [], dk, x, _w[1].Of(p), _dim, parallel: false);
        Linear.Backward(dx, _w[2].Of(g), bias ? _b[2].Of(g) : [], dv, x, _w[2].Of(p), _dim, parallel: false);
    }

    /// <summary>
    /// The backward of <see cref="Attend{T}"/> from dY: parameter gradients of W_O and the FFN accumulate, dX gets
    /// the residual path, and dQ, dK, dV are left in <paramref name="scratch"/> (<see cref="Projection{T}"/>).
    /// </summary>
    public void BackwardAttention<T>(ReadOnlySpan<T> p, Span<T> g, Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> act,
        Span<T> scratch, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n == 0) return;
        int d = _dim, nd = n * d, dh = d / _heads;
        ReadOnlySpan<T> q = act[..nd], k = act.Slice(nd, nd), v = act.Slice(2 * nd, nd), o = act.Slice(3 * nd, nd), z = act.Slice(4 * nd, nd);
        ReadOnlySpan<T> a = act.Slice(6 * nd, _heads * n * n), ffn = act.Slice(6 * nd + _heads * n * n, _ffn.ActivationSize(n));
        Span<T> dq = scratch[..nd], dk = scratch.Slice(nd, nd), dv = scratch.Slice(2 * nd, nd), dO = scratch.Slice(3 * nd, nd);
        Span<T> dz = scratch.Slice(4 * nd, nd), da = scratch.Slice(5 * nd, n), ffnScratch = scratch[(5 * nd + n)..];

        // Y = Z + FFN(Z); Z = X + O W_Oᵀ + b_O.
        dy.CopyTo(dz);
        _ffn.Backward(p, g, dz, dy, z, ffn, ffnScratch, n);
        TensorPrimitives.Add(dx, dz, dx);
        dO.Clear();
        Linear.Backward(dO, _w[3].Of(g), _b[3].Of(g), dz, o, _w[3].Of(p), d, parallel: false);

        T scale = T.One / T.Sqrt(T.CreateTruncating(dh));
        dq.Clear(); dk.Clear(); dv.Clear();
        for (int h = 0; h < _heads; h++)
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> ai = a.Slice((h * n + i) * n, _causal ? i + 1 : n), doi = dO.Slice(i * d + h * dh, dh);
                // O_i = Σ_j A_ij V_j: ∂/∂A_ij = dO_i·V_j, ∂/∂V_j += A_ij dO_i; then the softmax.
                T dot = T.Zero;
                for (int j = 0; j < ai.Length; j++)
                {
                    ReadOnlySpan<T> vj = v.Slice(j * d + h * dh, dh);
                    Span<T> dvj = dv.Slice(j * d + h * dh, dh);
                    T aij = ai[j], daj = T.Zero;
                    for (int c = 0; c < dh; c++)
                    {
                        daj += doi[c] * vj[c];
                        dvj[c] += aij * doi[c];
                    }
                    da[j] = daj;
                    dot += aij * daj;
                }
                Span<T> dqi = dq.Slice(i * d + h * dh, dh);
                ReadOnlySpan<T> qi = q.Slice(i * d + h * dh, dh);
                for (int j = 0; j < ai.Length; j++)
                {
                    T ds = ai[j] * (da[j] - dot) * scale;
                    ReadOnlySpan<T> kj = k.Slice(j * d + h * dh, dh);
                    Span<T> dkj = dk.Slice(j * d + h * dh, dh);
                    for (int c = 0; c < dh; c++)
                    {
                        dqi[c] += ds * kj[c];
                        dkj[c] += ds * qi[c];
                    }
                }
            }
    }

    /// <summary>Softmax in place, shifted by the maximum so exp never overflows.</summary>
    private static void Softmax<T>(Span<T> s) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T max = TensorPrimitives.Max<T>(s);
        TensorPrimitives.Subtract(s, max, s);
        TensorPrimitives.Exp(s, s);
        TensorPrimitives.Divide(s, TensorPrimitives.Sum<T>(s), s);
    }
}
