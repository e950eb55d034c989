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
        int km = heads.ItemWidth;
        var branchHeads = new bool[heads.Heads];
        foreach (BranchTensors t in layout.Branches) branchHeads[t.Head] = true;
        Parallel.For(0, (count + Block - 1) / Block, ThreadLimit.Options, block =>
        {
            int i0 = block * Block, b = Math.Min(Block, count - i0);
            float[] f = ArrayPool<float>.Shared.Rent(b * h), z = ArrayPool<float>.Shared.Rent(b * km);
            float[] alpha = ArrayPool<float>.Shared.Rent(window);
            try
            {
                // Branch by branch over the block's users: each branch's rows lie in one slab in user order
                // (StateSlabs), so the attention streams them; then W1_f f of the block in one GEMM.
                foreach (BranchTensors t in layout.Branches)
                {
                    for (int i = 0; i < b; i++)
                    {
                        UserState s = states[i0 + i];
                        var hw = (t.Clicks ? s.Click : s.NotClick!).Window(window, out int rows);
                        Attention.Forward<float>(f.AsSpan(i * h, h), alpha.AsSpan(0, rows), hw, q.AsSpan(t.Head * h, h));
                    }
                    Gemm.Multiply<float>(z.AsSpan(t.Head * m), km, f, h, false, heads.OtherT(t.Head), m, false, b, m, h, accumulate: false);
                }
                // One user at a time through the vector sigmoid's lane code: the p score and recommend give the pair.
                for (int i = 0; i < b; i++)
                    p[i0 + i] = HeadParts.Probability(heads.Logit(parts, z.AsSpan(i * km, km), branchHeads, heads.HasUserHead ? heads.UserPart(users[i0 + i]) : default));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(f); ArrayPool<float>.Shared.Return(z); ArrayPool<float>.Shared.Return(alpha);
            }
        });
    }
}
