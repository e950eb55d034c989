using System.Numerics;
using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Baselines;

/// <summary>
/// A plain LSTM (Hochreiter &amp; Schmidhuber 1997, with forget gate) over n inputs, gates stacked (i, f, o, u) as
/// ALPINE's cell (SPEC D11: the stacked [4H × H] recurrent matrix orthonormal as one, forget bias 1):
/// [i; f; o; u]_t = [σ; σ; σ; tanh](W_x x_t + W_h h_{t−1} + b), c_t = f ⊙ c_{t−1} + i ⊙ u, h_t = o ⊙ tanh(c_t),
/// from h_0 = c_0 = 0. Its tensors are <c>{name}.Wx</c>, <c>{name}.Wh</c> and <c>{name}.b</c>.
/// </summary>
public sealed class Lstm
{
    private readonly TensorSlot _wx, _wh, _b;

    public Lstm(ParameterLayout layout, string name, int inputs, int hidden)
    {
        Hidden = hidden;
        _wx = layout.Add($"{name}.Wx", 4 * hidden, inputs, TensorKind.Weight);
        _wh = layout.Add($"{name}.Wh", 4 * hidden, hidden, TensorKind.Recurrent);
        _b = layout.Add($"{name}.b", 1, 4 * hidden, TensorKind.Bias);
    }

    public int Hidden { get; }

    /// <summary>Activation elements for n steps: the gates (n, 4H), c (n, H) and h (n, H).</summary>
    public int ActivationSize(int steps) => steps * 6 * Hidden;
    /// <summary>Scratch elements of <see cref="Backward{T}"/> for n steps.</summary>
    public int ScratchSize(int steps) => steps * 4 * Hidden + 4 * Hidden;

    public void InitialiseForgetBias(Span<float> p) => _b.Of(p).Slice(ParameterInit.ForgetBlock * Hidden, Hidden).Fill(1f);

    /// <summary>h_t, the hidden state after the first <paramref name="t"/> ≥ 1 of <paramref name="steps"/> inputs, within <paramref name="act"/>.</summary>
    public ReadOnlySpan<T> State<T>(ReadOnlySpan<T> act, int steps, int t) => act.Slice(steps * 5 * Hidden + (t - 1) * Hidden, Hidden);

    public void Forward<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x /*(n,I)*/, Span<T> act, int steps) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int h = Hidden;
        Span<T> gates = act[..(steps * 4 * h)], c = act.Slice(steps * 4 * h, steps * h), hs = act.Slice(steps * 5 * h, steps * h);
        if (steps == 0) return;
        Linear.Forward(gates, x, _wx.Of(p), _b.Of(p), 4 * h, parallel: false);
        ReadOnlySpan<T> wh = _wh.Of(p);
        for (int t = 0; t < steps; t++)
        {
            Span<T> gt = gates.Slice(t * 4 * h, 4 * h), ct = c.Slice(t * h, h), ht = hs.Slice(t * h, h);
            if (t > 0)
            {
                ReadOnlySpan<T> hPrev = hs.Slice((t - 1) * h, h);
                for (int k = 0; k < 4 * h; k++) gt[k] += TensorPrimitives.Dot(wh.Slice(k * h, h), hPrev);
            }
            TensorPrimitives.Sigmoid(gt[..(3 * h)], gt[..(3 * h)]);
            TensorPrimitives.Tanh(gt[(3 * h)..], gt[(3 * h)..]);
            for (int k = 0; k < h; k++)
            {
                T cPrev = t > 0 ? c[(t - 1) * h + k] : T.Zero;
                ct[k] = gt[h + k] * cPrev + gt[k] * gt[3 * h + k];
                ht[k] = gt[2 * h + k] * T.Tanh(ct[k]);
            }
        }
    }

    /// <summary>
    /// Backpropagation through time from ∂loss/∂h_t = <paramref name="dStates"/> (n, H), every state a loss may
    /// read (zero rows where none does): parameter gradients accumulate; the inputs are data (no dx).
    /// </summary>
    public void Backward<T>(ReadOnlySpan<T> p, Span<T> g, ReadOnlySpan<T> dStates, ReadOnlySpan<T> x, ReadOnlySpan<T> act, Span<T> scratch, int steps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (steps == 0) return;
        int h = Hidden;
        ReadOnlySpan<T> gates = act[..(steps * 4 * h)], c = act.Slice(steps * 4 * h, steps * h), hs = act.Slice(steps * 5 * h, steps * h);
        Span<T> dPre = scratch[..(steps * 4 * h)], dState = scratch.Slice(steps * 4 * h, 4 * h);
        Span<T> dh = dState[..h], dc = dState.Slice(h, h), dhPrev = dState.Slice(2 * h, h);
        dStates.Slice((steps - 1) * h, h).CopyTo(dh);
        dc.Clear();
        ReadOnlySpan<T> wh = _wh.Of(p);
        Span<T> dwh = _wh.Of(g);
        for (int t = steps - 1; t >= 0; t--)
        {
            ReadOnlySpan<T> gt = gates.Slice(t * 4 * h, 4 * h), ct = c.Slice(t * h, h);
            Span<T> dp = dPre.Slice(t * 4 * h, 4 * h);
            for (int k = 0; k < h; k++)
            {
                T i = gt[k], f = gt[h + k], o = gt[2 * h + k], u = gt[3 * h + k], tc = T.Tanh(ct[k]);
                T dck = dc[k] + dh[k] * o * (T.One - tc * tc);
                T cPrev = t > 0 ? c[(t - 1) * h + k] : T.Zero;
                dp[k] = dck * u * i * (T.One - i);
                dp[h + k] = dck * cPrev * f * (T.One - f);
                dp[2 * h + k] = dh[k] * tc * o * (T.One - o);
                dp[3 * h + k] = dck * i * (T.One - u * u);
                dc[k] = dck * f; // ∂/∂c_{t−1}
            }
            if (t == 0) break;
            ReadOnlySpan<T> hPrev = hs.Slice((t - 1) * h, h);
            dhPrev.Clear();
            for (int k = 0; k < 4 * h; k++)
            {
                TensorPrimitives.MultiplyAdd(hPrev, dp[k], dwh.Slice(k * h, h), dwh.Slice(k * h, h));
                TensorPrimitives.MultiplyAdd(wh.Slice(k * h, h), dp[k], dhPrev, dhPrev);
            }
            TensorPrimitives.Add(dhPrev, dStates.Slice((t - 1) * h, h), dh);
        }
        Linear.Backward<T>([], _wx.Of(g), _b.Of(g), dPre, x, _wx.Of(p), 4 * h, parallel: false);
    }
}
