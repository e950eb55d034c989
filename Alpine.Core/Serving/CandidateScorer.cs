using System.Buffers;
using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// p(click) of many items for one user (score, recommend), the prediction layer (SPEC D7–D10) factored around the
/// user's fixed states. Per branch, with Hw the window's n rows: the attention scores Hw q = (Hw W_a) x_new, so
/// A = Hw W_a (n, D) is computed once per call (Hw/√H for the scaled dot); and W1_f f = W1_f Hwᵀ α, so with n &lt; H
/// the (n, M) product Hw W1_fᵀ is computed once and a candidate costs n·M, not H·M (with n ≥ H, f = Hwᵀ α first).
/// Every head's x part comes from <see cref="ItemCache"/>. Per block of candidates the scores, the pooling and the
/// head layers are GEMMs (<see cref="Gemm"/>); blocks run in parallel. Equal to <see cref="Scorer"/> to float
/// rounding (sum orders differ). Stateless between calls: concurrent calls are safe.
/// </summary>
internal sealed class CandidateScorer(ModelConfig config, ModelLayout layout, float[] parameters, HeadParts heads, ItemCache items)
{
    /// <summary>Candidates per block: a block's buffers (K·M + D + 2·W floats a candidate) stay in L2.</summary>
    private const int Block = 128;

    /// <summary>One branch's per-call factors: Aᵀ (D, n) and either P = Hw W1_fᵀ (n, M) or, for n ≥ H, Hw itself.</summary>
    private readonly record struct Branch(int Head, int Rows, float[] AT, float[] Pool, bool Pooled);

    public void Probabilities(int user, UserState state, ReadOnlySpan<int> candidates, float[] p)
    {
        int d = heads.D, h = heads.H, m = heads.M, km = heads.ItemWidth;
        var branches = layout.Branches.Select(t => Factor(t, t.Clicks ? state.Click : state.NotClick!)).ToArray();
        int[] ids = candidates.ToArray();
        float[] alphas = layout.Alphas;
        int maxRows = Math.Max(1, branches.Length == 0 ? 1 : branches.Max(b => b.Rows));
        Parallel.For(0, (ids.Length + Block - 1) / Block, ThreadLimit.Options, block =>
        {
            int i0 = block * Block, b = Math.Min(Block, ids.Length - i0);
            float[] x = ArrayPool<float>.Shared.Rent(b * d), parts = ArrayPool<float>.Shared.Rent(b * km);
            float[] s = ArrayPool<float>.Shared.Rent(b * maxRows), f = ArrayPool<float>.Shared.Rent(b * h);
            float[] logit = ArrayPool<float>.Shared.Rent(b);
            try
            {
                items.Parts(ids.AsSpan(i0, b), parts, x);
                Array.Clear(logit, 0, b);
                foreach (var br in branches)
                {
                    int n = br.Rows, col = br.Head * m;
                    if (n > 0)
                    {
                        Gemm.Multiply<float>(s, n, x, d, false, br.AT, n, false, b, n, d, accumulate: false);
                        Softmax(s.AsSpan(0, b * n), n);
                        if (br.Pooled)
                            Gemm.Multiply<float>(parts.AsSpan(col), km, s, n, false, br.Pool, m, false, b, m, n, accumulate: true);
                        else
                        {
                            Gemm.Multiply<float>(f, h, s, n, false, br.Pool, h, false, b, h, n, accumulate: false);
                            Gemm.Multiply<float>(parts.AsSpan(col), km, f, h, false, heads.OtherT(br.Head), m, false, b, m, h, accumulate: true);
                        }
                    }
                    for (int i = 0; i < b; i++) logit[i] += alphas[br.Head] * heads.Output(br.Head, parts.AsSpan(i * km + col, m));
                }
                if (heads.HasUserHead)
                {
                    int k = heads.Heads - 1;
                    var userPart = heads.UserPart(user);
                    for (int i = 0; i < b; i++)
                    {
                        var z = parts.AsSpan(i * km + k * m, m);
                        TensorPrimitives.Add(z, userPart, z);
                        logit[i] += alphas[k] * heads.Output(k, z);
                    }
                }
                for (int i = 0; i < b; i++) p[i0 + i] = 1f / (1f + MathF.Exp(-logit[i]));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(x); ArrayPool<float>.Shared.Return(parts);
                ArrayPool<float>.Shared.Return(s); ArrayPool<float>.Shared.Return(f); ArrayPool<float>.Shared.Return(logit);
            }
        });
    }

    private Branch Factor(BranchTensors t, BranchState state)
    {
        int d = heads.D, h = heads.H, m = heads.M;
        ReadOnlySpan<float> hw = state.Window(config.Window, h, out int n);
        var at = new float[d * n];
        if (t.Wa is { } wa)
        {
            var a = new float[n * d];
            Gemm.Multiply<float>(a, d, hw, h, false, wa.Of(parameters), d, false, n, d, h, accumulate: false);
            Gemm.Transpose<float>(at, a, n, d, d);
        }
        else
        {
            Gemm.Transpose<float>(at, hw, n, h, h);
            TensorPrimitives.Multiply(at, 1f / MathF.Sqrt(h), at);
        }
        if (n >= h) return new Branch(t.Head, n, at, hw.ToArray(), Pooled: false);
        var pool = new float[n * m];
        Gemm.Multiply<float>(pool, m, hw, h, false, heads.OtherT(t.Head), m, false, n, m, h, accumulate: false);
        return new Branch(t.Head, n, at, pool, Pooled: true);
    }

    /// <summary>Each row of <paramref name="s"/> (rows of <paramref name="n"/>) in place by its softmax, shifted by the row's maximum.</summary>
    private static void Softmax(Span<float> s, int n)
    {
        for (int r = 0; r < s.Length; r += n)
        {
            var row = s.Slice(r, n);
            TensorPrimitives.Subtract(row, TensorPrimitives.Max<float>(row), row);
        }
        TensorPrimitives.Exp(s, s);
        for (int r = 0; r < s.Length; r += n)
        {
            var row = s.Slice(r, n);
            TensorPrimitives.Multiply(row, 1f / TensorPrimitives.Sum<float>(row), row);
        }
    }
}
