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
/// Every head's x part comes from <see cref="ItemCache"/>. Per block of candidates the scores (transposed: the
/// candidates are the long side), the pooling and the head layers are GEMMs (<see cref="Gemm"/>), the softmax and
/// the ReLU whole-block vector operations; blocks run in parallel. Equal to <see cref="Scorer"/> to float
/// rounding (sum orders differ). Stateless between calls: concurrent calls are safe.
/// </summary>
internal sealed class CandidateScorer(ModelConfig config, ModelLayout layout, float[] parameters, HeadParts heads, ItemCache items)
{
    /// <summary>Candidates per block: a block's buffers (K·M + 2·D + H + W floats a candidate) stay in L2.</summary>
    private const int Block = 128;

    /// <summary>One branch's per-call factors: A = Hw W_a (n, D) and either P = Hw W1_fᵀ (n, M) or, for n ≥ H, Hw itself.</summary>
    private readonly record struct Branch(int Head, int Rows, float[] A, float[] Pool, bool Pooled);

    /// <summary>p(click) of items <paramref name="ids"/>[i], i &lt; <paramref name="count"/>, for the user in <paramref name="state"/>, into p[i].</summary>
    public void Probabilities(int user, UserState state, int[] ids, int count, float[] p)
    {
        int d = heads.D, h = heads.H, m = heads.M, km = heads.ItemWidth;
        var branches = layout.Branches.Select(t => Factor(t, t.Clicks ? state.Click : state.NotClick!)).ToArray();
        int maxRows = Math.Max(1, branches.Length == 0 ? 1 : branches.Max(b => b.Rows));
        var branchHeads = new bool[heads.Heads];
        foreach (var br in branches) branchHeads[br.Head] = br.Rows > 0;   // an empty window: f = 0, the head sees its x part alone
        var userPart = heads.HasUserHead ? heads.UserPart(user).ToArray() : [];
        Parallel.For(0, (count + Block - 1) / Block, ThreadLimit.Options, block =>
        {
            int i0 = block * Block, b = Math.Min(Block, count - i0);
            var pool = ArrayPool<float>.Shared;
            float[] x = pool.Rent(b * d), xT = pool.Rent(d * b), parts = pool.Rent(b * km), z = pool.Rent(b * km), sT = pool.Rent(maxRows * b), f = pool.Rent(b * h);
            float[] colMax = pool.Rent(b), colSum = pool.Rent(b);
            try
            {
                var blockIds = ids.AsSpan(i0, b);
                items.Gather(blockIds, x, parts);
                Gemm.Transpose<float>(xT, x, b, d, d);
                foreach (var br in branches)
                {
                    int n = br.Rows, col = br.Head * m;
                    if (n == 0) continue;
                    // Scores transposed, (n, b): a GEMM whose long side is the candidates, and a softmax per
                    // column that is n whole-row vector operations.
                    Gemm.Multiply<float>(sT, b, br.A, d, false, xT, b, false, n, b, d, accumulate: false);
                    SoftmaxColumns(sT.AsSpan(0, n * b), b, colMax.AsSpan(0, b), colSum.AsSpan(0, b));
                    if (br.Pooled)
                        Gemm.Multiply<float>(z.AsSpan(col), km, sT, b, true, br.Pool, m, false, b, m, n, accumulate: false);
                    else
                    {
                        Gemm.Multiply<float>(f, h, sT, b, true, br.Pool, h, false, b, h, n, accumulate: false);
                        Gemm.Multiply<float>(z.AsSpan(col), km, f, h, false, heads.OtherT(br.Head), m, false, b, m, h, accumulate: false);
                    }
                }
                // The item parts are read where they lie in the cache (computed into parts only past it).
                for (int i = 0; i < b; i++)
                {
                    var row = items.Row(blockIds[i]);
                    p[i0 + i] = 1f / (1f + MathF.Exp(-heads.Logit(row.IsEmpty ? parts.AsSpan(i * km, km) : row, z.AsSpan(i * km, km), branchHeads, userPart)));
                }
            }
            finally
            {
                pool.Return(x); pool.Return(xT); pool.Return(parts); pool.Return(z); pool.Return(sT);
                pool.Return(f); pool.Return(colMax); pool.Return(colSum);
            }
        });
    }

    private Branch Factor(BranchTensors t, BranchState state)
    {
        int d = heads.D, h = heads.H, m = heads.M;
        ReadOnlySpan<float> hw = state.Window(config.Window, h, out int n);
        var a = new float[n * d];
        if (t.Wa is { } wa) Gemm.Multiply<float>(a, d, hw, h, false, wa.Of(parameters), d, false, n, d, h, accumulate: false);
        else TensorPrimitives.Multiply(hw, 1f / MathF.Sqrt(h), a);
        if (n >= h) return new Branch(t.Head, n, a, hw.ToArray(), Pooled: false);
        var pool = new float[n * m];
        Gemm.Multiply<float>(pool, m, hw, h, false, heads.OtherT(t.Head), m, false, n, m, h, accumulate: false);
        return new Branch(t.Head, n, a, pool, Pooled: true);
    }

    /// <summary>
    /// Each column of <paramref name="s"/> (rows of <paramref name="b"/>) in place by its softmax, shifted by the
    /// column's maximum; <paramref name="max"/> and <paramref name="sum"/> (b) are scratch.
    /// </summary>
    private static void SoftmaxColumns(Span<float> s, int b, Span<float> max, Span<float> sum)
    {
        int n = s.Length / b;
        s[..b].CopyTo(max);
        for (int j = 1; j < n; j++) TensorPrimitives.Max(max, s.Slice(j * b, b), max);
        for (int j = 0; j < n; j++) TensorPrimitives.Subtract(s.Slice(j * b, b), max, s.Slice(j * b, b));
        TensorPrimitives.Exp(s, s);
        s[..b].CopyTo(sum);
        for (int j = 1; j < n; j++) TensorPrimitives.Add(sum, s.Slice(j * b, b), sum);
        for (int j = 0; j < n; j++) TensorPrimitives.Divide(s.Slice(j * b, b), sum, s.Slice(j * b, b));
    }
}
