using System.Buffers;
using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// p(click) of one item for many users (route), the prediction layer (SPEC D7–D10) factored so that what depends on
/// the item alone is computed once per call: each branch's query q = W_a x_new and every head's W1_x x_new + b1
/// (<see cref="HeadParts"/>); the user head's U part is per user from load. A user then costs the attention over
/// each branch's window and W1_f f, the latter one GEMM per block of users (<see cref="Gemm"/>). Equal to
/// <see cref="Scorer"/> to float rounding (sum orders differ). Stateless between calls: concurrent calls are safe.
/// </summary>
internal sealed class Router(ModelConfig config, ModelLayout layout, float[] parameters, HeadParts heads)
{
    /// <summary>Users per block: one GEMM of W1_f per branch per block, the block's buffers a few KB per user.</summary>
    private const int Block = 256;

    /// <summary>
    /// p(click) of the item with x <paramref name="x"/> (D) and head parts <paramref name="itemParts"/> (K·M, from
    /// <see cref="ItemCache"/>) for user <paramref name="users"/>[i] in state <paramref name="states"/>[i], i &lt; <paramref name="count"/>.
    /// </summary>
    public void Probabilities(ReadOnlySpan<float> x, ReadOnlySpan<float> itemParts, UserState[] states, int[] users, int count, float[] p)
    {
        int h = heads.H, m = heads.M, branches = layout.Branches.Count, window = config.Window;
        var q = new float[branches * h];
        foreach (BranchTensors t in layout.Branches)
        {
            if (t.Wa is { } wa) Linear.Forward<float>(q.AsSpan(t.Head * h, h), x, wa.Of(parameters), [], h, parallel: false);
            else TensorPrimitives.Multiply(x, 1f / MathF.Sqrt(h), q.AsSpan(t.Head * h, h));
        }
        float[] parts = itemParts.ToArray();
        Parallel.For(0, (count + Block - 1) / Block, ThreadLimit.Options, block =>
        {
            int i0 = block * Block, b = Math.Min(Block, count - i0);
            float[] f = ArrayPool<float>.Shared.Rent(b * h), z = ArrayPool<float>.Shared.Rent(b * m);
            float[] alpha = ArrayPool<float>.Shared.Rent(window), logit = ArrayPool<float>.Shared.Rent(b);
            try
            {
                Array.Clear(logit, 0, b);
                foreach (BranchTensors t in layout.Branches)
                {
                    for (int i = 0; i < b; i++)
                    {
                        UserState s = states[i0 + i];
                        var hw = (t.Clicks ? s.Click : s.NotClick!).Window(window, h, out int rows);
                        Attention.Forward<float>(f.AsSpan(i * h, h), alpha.AsSpan(0, rows), hw, q.AsSpan(t.Head * h, h));
                        parts.AsSpan(t.Head * m, m).CopyTo(z.AsSpan(i * m, m));
                    }
                    Gemm.Multiply<float>(z, m, f, h, false, heads.OtherT(t.Head), m, false, b, m, h, accumulate: true);
                    AddOutputs(t.Head, z.AsSpan(0, b * m), logit);
                }
                if (heads.HasUserHead)
                {
                    int k = heads.Heads - 1;
                    for (int i = 0; i < b; i++)
                        TensorPrimitives.Add(heads.UserPart(users[i0 + i]), parts.AsSpan(k * m, m), z.AsSpan(i * m, m));
                    AddOutputs(k, z.AsSpan(0, b * m), logit);
                }
                for (int i = 0; i < b; i++) p[i0 + i] = 1f / (1f + MathF.Exp(-logit[i]));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(f); ArrayPool<float>.Shared.Return(z);
                ArrayPool<float>.Shared.Return(alpha); ArrayPool<float>.Shared.Return(logit);
            }
        });
    }

    /// <summary>logit[i] += α_k · head k's output for each row i of the pre-activations z (rows of M, ReLU'd here).</summary>
    private void AddOutputs(int head, Span<float> z, float[] logit)
    {
        int m = heads.M;
        TensorPrimitives.Max(z, 0f, z);
        for (int i = 0; i < z.Length / m; i++) logit[i] += layout.Alphas[head] * heads.Output(head, z.Slice(i * m, m));
    }
}
