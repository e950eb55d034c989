using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// The prediction layer (SPEC D7–D10) over cached states: per target (a user's snapshot and an item's x_new),
/// each branch's attention over the ≤ W most recent states and its MLP head, the multi-level head on the user's
/// row of U, the fusion and σ. The same layer functions as <see cref="CpuModel{T}"/> (<see cref="Linear"/>,
/// <see cref="Attention"/>, <see cref="Mlp"/>, <see cref="Loss.FusionForward"/>), so from equal states it gives
/// equal logits. Stateless between calls: concurrent calls are safe.
/// </summary>
internal sealed class Scorer
{
    /// <summary>Targets per block: bounds the temporaries of a call over 100,000 candidates.</summary>
    private const int Block = 16384;

    private readonly ModelConfig _c;
    private readonly ModelLayout _layout;
    private readonly float[] _p;
    private readonly float[] _alphas;
    private readonly int _d, _h, _m;

    public Scorer(ModelConfig config, ModelLayout layout, float[] parameters)
    {
        _c = config; _layout = layout; _p = parameters;
        _alphas = layout.Alphas;
        (_d, _h, _m) = (config.ItemDim, config.HiddenSize, config.MlpHidden);
    }

    /// <summary>
    /// p(click) of each target t: user <paramref name="users"/>[t] in state <paramref name="states"/>[t] shown the
    /// item whose x is row t of <paramref name="xNew"/> (n, D).
    /// </summary>
    public void Probabilities(ReadOnlySpan<UserState> states, ReadOnlySpan<int> users, ReadOnlySpan<float> xNew, Span<float> p)
    {
        int n = p.Length;
        System.Diagnostics.Debug.Assert(states.Length == n && users.Length == n && xNew.Length == n * _d);
        var statesArr = states.ToArray();
        for (int t0 = 0; t0 < n; t0 += Block)
        {
            int b = Math.Min(Block, n - t0);
            BlockProbabilities(statesArr.AsMemory(t0, b), users.Slice(t0, b), xNew.Slice(t0 * _d, b * _d), p.Slice(t0, b));
        }
    }

    private void BlockProbabilities(ReadOnlyMemory<UserState> states, ReadOnlySpan<int> users, ReadOnlySpan<float> xNew, Span<float> p)
    {
        int b = p.Length, d = _d, h = _h, heads = _alphas.Length;
        var headLogits = new float[heads * b];   // (K, B)
        var z = new float[b * _m];               // (B, M)
        var q = new float[b * h];                // (B, H)
        float[] x = xNew.ToArray();              // (B, D)
        foreach (BranchTensors t in _layout.Branches)
        {
            int inputs = t.Mlp.Inputs;
            var u = new float[b * inputs];       // (B, H + D) = [f ; x_new]
            if (t.Wa is { } wa) Linear.Forward<float>(q, x, wa.Of(_p), [], h);
            else System.Numerics.Tensors.TensorPrimitives.Multiply(x, 1f / MathF.Sqrt(h), q);
            bool clicks = t.Clicks;
            var st = states;
            int window = _c.Window;
            Parallel.For(0, (b + 63) / 64, ThreadLimit.Options, chunk =>
            {
                var alpha = new float[window];
                for (int i = chunk * 64; i < Math.Min(b, chunk * 64 + 64); i++)
                {
                    BranchState s = clicks ? st.Span[i].Click : st.Span[i].NotClick!;
                    var hw = s.Window(window, out int rows);
                    Attention.Forward<float>(u.AsSpan(i * inputs, h), alpha.AsSpan(0, rows), hw, q.AsSpan(i * h, h));
                    x.AsSpan(i * d, d).CopyTo(u.AsSpan(i * inputs + h, d));
                }
            });
            Mlp.Forward<float>(headLogits.AsSpan(t.Head * b, b), z, u, t.Mlp.W1.Of(_p), t.Mlp.B1.Of(_p), t.Mlp.W2.Of(_p), t.Mlp.B2.Of(_p));
        }
        if (_layout.UserHead is { } userHead)
        {
            // u = [U[user] ; x_new] (SPEC D8, D9)
            ReadOnlySpan<float> matrix = _layout.UserMatrix!.Value.Of(_p);
            var u = new float[b * 2 * d];
            for (int i = 0; i < b; i++)
            {
                matrix.Slice(users[i] * d, d).CopyTo(u.AsSpan(i * 2 * d, d));
                x.AsSpan(i * d, d).CopyTo(u.AsSpan(i * 2 * d + d, d));
            }
            Mlp.Forward<float>(headLogits.AsSpan((heads - 1) * b, b), z, u, userHead.W1.Of(_p), userHead.B1.Of(_p), userHead.W2.Of(_p), userHead.B2.Of(_p));
        }
        Loss.FusionForward<float>(p, headLogits, _alphas);
        for (int i = 0; i < b; i++) p[i] = 1f / (1f + MathF.Exp(-p[i]));
    }
}
