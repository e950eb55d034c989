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

    public void Forward<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x /*(n,d)*/, Span<T> act, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n == 0) return;
        int d = _dim, nd = n * d, dh = d / _heads;
        Span<T> q = act[..nd], k = act.Slice(nd, nd), v = act.Slice(2 * nd, nd), o = act.Slice(3 * nd, nd), z = act.Slice(4 * nd, nd), y = act.Slice(5 * nd, nd);
        Span<T> a = act.Slice(6 * nd, _heads * n * n), ffn = act.Slice(6 * nd + _heads * n * n, _ffn.ActivationSize(n));
        Linear.Forward(q, x, _w[0].Of(p), _b[0].Of(p), d, parallel: false);
        Linear.Forward(k, x, _w[1].Of(p), _b[1].Of(p), d, parallel: false);
        Linear.Forward(v, x, _w[2].Of(p), _b[2].Of(p), d, parallel: false);
        T scale = T.One / T.Sqrt(T.CreateTruncating(dh));
        o.Clear();
        for (int h = 0; h < _heads; h++)
            for (int i = 0; i < n; i++)
            {
                Span<T> ai = a.Slice((h * n + i) * n, _causal ? i + 1 : n);
                for (int j = 0; j < ai.Length; j++) ai[j] = TensorPrimitives.Dot(q.Slice(i * d + h * dh, dh), (ReadOnlySpan<T>)k.Slice(j * d + h * dh, dh)) * scale;
                Softmax(ai);
                Span<T> oi = o.Slice(i * d + h * dh, dh);
                for (int j = 0; j < ai.Length; j++) TensorPrimitives.MultiplyAdd(v.Slice(j * d + h * dh, dh), ai[j], oi, oi);
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
                    Span<T> dvj = dv.Slice(j * d + h * dh, dh);
                    da[j] = TensorPrimitives.Dot(doi, v.Slice(j * d + h * dh, dh));
                    TensorPrimitives.MultiplyAdd(doi, ai[j], dvj, dvj);
                    dot += ai[j] * da[j];
                }
                Span<T> dqi = dq.Slice(i * d + h * dh, dh);
                ReadOnlySpan<T> qi = q.Slice(i * d + h * dh, dh);
                for (int j = 0; j < ai.Length; j++)
                {
                    T ds = ai[j] * (da[j] - dot) * scale;
                    Span<T> dkj = dk.Slice(j * d + h * dh, dh);
                    TensorPrimitives.MultiplyAdd(k.Slice(j * d + h * dh, dh), ds, dqi, dqi);
                    TensorPrimitives.MultiplyAdd(qi, ds, dkj, dkj);
                }
            }
        Linear.Backward(dx, _w[0].Of(g), _b[0].Of(g), dq, x, _w[0].Of(p), d, parallel: false);
        Linear.Backward(dx, _w[1].Of(g), _b[1].Of(g), dk, x, _w[1].Of(p), d, parallel: false);
        Linear.Backward(dx, _w[2].Of(g), _b[2].Of(g), dv, x, _w[2].Of(p), d, parallel: false);
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
