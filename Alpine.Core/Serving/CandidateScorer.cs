using System.Buffers;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// p(click) of many items for one user (score, recommend), the prediction layer (SPEC D7–D10) factored around the
/// user's fixed states. Per branch, with Hw the window's n rows: the attention scores Hw q = (Hw W_a) x_new, so
/// A = Hw W_a (n, D) is computed once per call (Hw/√H for the scaled dot); and W1_f f = W1_f Hwᵀ α, so the (n, M)
/// product P = Hw W1_fᵀ can be computed once and a candidate then costs n·M for W1_f f; where n·H + H·M is less
/// (M &gt; H and n ≥ H·M / (M − H)), f = Hwᵀ α and W1_f f are computed per candidate instead.
/// Every head's x part comes from <see cref="ItemCache"/>. Per block of candidates the scores (transposed: the
/// candidates are the long side), the pooling and the head layers are GEMMs (<see cref="Gemm"/>), the softmax and
/// the ReLU whole-block vector operations; blocks run in parallel. Equal to <see cref="Scorer"/> to float rounding (sum
/// orders differ), whatever the item cache's precision: a bfloat16 row only bounds (<see cref="Bounds"/>). Stateless
/// between calls: concurrent calls are safe.
/// </summary>
internal sealed class CandidateScorer(ModelConfig config, ModelLayout layout, float[] parameters, HeadParts heads, ItemCache items)
{
    /// <summary>
    /// Candidates per block: three whole 64-column panels of the score products (a partial panel goes through a
    /// scratch tile); at the default shape 192 ran faster than 128, 160, 224 and 256 (more FMAs between a block's
    /// prefetches and its reads, fewer products per candidate).
    /// </summary>
    private const int Block = 192;

    /// <summary>One branch's per-call factors: A = Hw W_a (n, D) and either P = Hw W1_fᵀ (n, M) or, where that costs more (<see cref="Pools"/>), Hw itself.</summary>
    private readonly record struct Branch(int Head, int Rows, float[] A, float[] Pool, bool Pooled);

    /// <summary>
    /// p(click) of items <paramref name="ids"/>[i], i &lt; <paramref name="count"/>, for the user in <paramref name="state"/>,
    /// into p[i], from float parts (a bfloat16 cache's items computed per call).
    /// </summary>
    public void Probabilities(int user, UserState state, int[] ids, int count, float[] p) => Run(user, state, ids, count, p, null);

    /// <summary>
    /// With a bfloat16 cache: for each item, bounds of the p that <see cref="Probabilities"/> gives it, from its
    /// bfloat16 row: p[i] ≤ that p ≤ <paramref name="high"/>[i], each side to within the few ulps by which the
    /// vector sigmoid may fail to be monotone. The two logits (the same z, the bfloat16 and the float row) differ by
    /// at most the item's <see cref="ItemCache.Slack"/> plus <see cref="HeadParts.RoundingShare"/> of what W1_f f and
    /// the bias add to their magnitude, bounded per call: each W1_f f is W1_f Hwᵀ α with α a convex combination, so
    /// |(W1_f f)_j| ≤ max_r |P_rj| (or Σ_h |W1_f,jh| max_r |Hw_rh|). Items past the cache are scored from float
    /// parts: both bounds are their p.
    /// </summary>
    public void Bounds(int user, UserState state, int[] ids, int count, float[] p, float[] high) => Run(user, state, ids, count, p, high);

    private void Run(int user, UserState state, int[] ids, int count, float[] p, float[]? high)
    {
        var branches = layout.Branches.Select(t => Factor(t, t.Clicks ? state.Click : state.NotClick!)).ToArray();
        int maxRows = Math.Max(1, branches.Length == 0 ? 1 : branches.Max(b => b.Rows));
        var branchHeads = new bool[heads.Heads];
        foreach (var br in branches) branchHeads[br.Head] = br.Rows > 0;   // an empty window: f = 0, the head sees its x part alone
        var userPart = heads.HasUserHead ? heads.UserPart(user).ToArray() : [];
        float callSlack = high is null ? 0f : CallSlack(branches, userPart);
        // Every branch's A = Hw W_a, one above the other: the scores of all branches are one product.
        float[] scoresA = [.. branches.SelectMany(b => b.A)];
        // One worker a core, each taking the next block from a shared counter: a worker claims its next block before
        // it computes this one (so it can ask for that block's item rows meanwhile), and the workers finish within a
        // block of each other whatever the cores' speeds.
        int blocks = (count + Block - 1) / Block;
        var counter = new StrongBox<int>(-1);
        Parallel.For(0, Math.Min(blocks, Environment.ProcessorCount), ThreadLimit.Options,
            _ => Blocks(counter, blocks, ids, count, p, high, callSlack, branches, scoresA, maxRows, branchHeads, userPart));
    }

    /// <summary>
    /// The blocks this worker takes from <paramref name="counter"/> (the last block taken). While a block's GEMMs run,
    /// their micro-kernel issues the prefetches of the worker's next block's cached rows and features
    /// (<see cref="Gemm.PrefetchStream"/>), so that the memory reads of the one overlap the FMAs of the other.
    /// </summary>
    private unsafe void Blocks(StrongBox<int> counter, int blocks, int[] ids, int count, float[] p, float[]? high, float callSlack, Branch[] branches,
        float[] scoresA, int maxRows, bool[] branchHeads, float[] userPart)
    {
        int allRows = scoresA.Length / heads.D;
        int block = Interlocked.Increment(ref counter.Value);
        if (block >= blocks) return;
        int d = heads.D, h = heads.H, m = heads.M, km = heads.ItemWidth;
        // A bfloat16 row is read only for bounds; probabilities come from float parts.
        bool bf16 = items.Precision == ItemCachePrecision.BFloat16 && high is not null;
        bool readRows = bf16 || items.Precision == ItemCachePrecision.Float;
        var pool = ArrayPool<float>.Shared;
        float[] x = pool.Rent(Block * d), xT = pool.Rent(d * Block), parts = pool.Rent(Block * km), z = pool.Rent(Block * km);
        float[] sT = pool.Rent(Math.Max(1, allRows) * Block), f = pool.Rent(Block * h), tail = pool.Rent(maxRows * Vector512<float>.Count);
        float[] logits = pool.Rent(Block), upper = pool.Rent(Block);
        nint[] lines = ArrayPool<nint>.Shared.Rent(items.LineRoom(Block));
        try
        {
            fixed (nint* line = lines)
            {
                ReadOnlySpan<int> Ids(int block) => ids.AsSpan(block * Block, Math.Min(Block, count - block * Block));
                var stream = Stream(line, Ids(block), lines, readRows);
                stream.Drain();
                for (int next; block < blocks; block = next)
                {
                    next = Interlocked.Increment(ref counter.Value);
                    if (next < blocks) stream = Stream(line, Ids(next), lines, readRows);
                    int i0 = block * Block;
                    var blockIds = Ids(block);
                    int b = blockIds.Length;
                    items.GatherTransposed(blockIds, xT, parts, x, exact: !bf16);
                    // Scores transposed, (Σn, b): one GEMM for every branch, whose long side is the candidates.
                    if (allRows > 0) Multiply(sT, b, scoresA, d, false, xT, b, allRows, b, d, &stream);
                    int first = 0;
                    foreach (var br in branches)
                    {
                        int n = br.Rows, col = br.Head * m;
                        if (n == 0) continue;
                        // A softmax per column, sixteen columns a vector.
                        var s = sT.AsSpan(first * b, n * b);
                        first += n;
                        SoftmaxColumns(s, b, tail.AsSpan(0, n * Vector512<float>.Count));
                        if (br.Pooled)
                            Multiply(z.AsSpan(col), km, s, b, true, br.Pool, m, b, m, n, &stream);
                        else
                        {
                            Multiply(f, h, s, b, true, br.Pool, h, b, h, n, &stream);
                            Multiply(z.AsSpan(col), km, f, h, false, heads.OtherT(br.Head), m, b, m, h, &stream);
                        }
                    }
                    // The item parts are read where they lie in the cache (computed into parts where there is no row to read).
                    for (int i = 0; i < b; i++)
                    {
                        var zi = z.AsSpan(i * km, km);
                        if (bf16 && items.RowBFloat16(blockIds[i]) is { IsEmpty: false } bits)
                        {
                            float logit = heads.LogitBFloat16(bits, zi, branchHeads, userPart);
                            // The bound, widened by more than the rounding of the sum and differences below.
                            float bound = (items.Slack(blockIds[i]) + callSlack) * (1 + 1f / (1 << 20)) + MathF.Abs(logit) / (1 << 22);
                            bool finite = float.IsFinite(bound);   // else nothing is known: p in [0, 1]
                            logits[i] = finite ? logit - bound : float.NegativeInfinity;
                            upper[i] = finite ? logit + bound : float.PositiveInfinity;
                            continue;
                        }
                        var row = items.Row(blockIds[i]);
                        logits[i] = upper[i] = heads.Logit(row.IsEmpty ? parts.AsSpan(i * km, km) : row, zi, branchHeads, userPart);
                    }
                    Sigmoids(logits.AsSpan(0, b), p.AsSpan(i0, b));
                    if (high is not null) Sigmoids(upper.AsSpan(0, b), high.AsSpan(i0, b));
                    stream.Drain();
                }
            }
        }
        finally
        {
            pool.Return(x); pool.Return(xT); pool.Return(parts); pool.Return(z); pool.Return(sT);
            pool.Return(f); pool.Return(tail); pool.Return(logits); pool.Return(upper); ArrayPool<nint>.Shared.Return(lines);
        }
    }

    /// <summary>
    /// The cache lines of <paramref name="blockIds"/> (their features, and with <paramref name="rows"/> their cached
    /// rows) as a stream over <paramref name="lines"/> (pinned at <paramref name="start"/>); where the GEMMs do not read a stream (<see cref="Gemm.StreamsPrefetches"/>) its
    /// prefetches go out at once, still a block ahead.
    /// </summary>
    private unsafe Gemm.PrefetchStream Stream(nint* start, ReadOnlySpan<int> blockIds, nint[] lines, bool rows)
    {
        int n = !Sse.IsSupported ? 0 : items.Lines(blockIds, lines, rows);
        var stream = new Gemm.PrefetchStream { Next = start, End = start + n };
        if (!Gemm.StreamsPrefetches) stream.Drain();
        return stream;
    }

    /// <summary>
    /// C (m, n) = op(A) B (k deep), serially, the micro-kernel feeding <paramref name="stream"/>; one product per 64
    /// columns, so the packed kernel reads each 64-column panel of B where it lies instead of copying B every block
    /// (the same bits: an element's sum does not depend on the column split).
    /// </summary>
    private static unsafe void Multiply(Span<float> c, int ldc, ReadOnlySpan<float> a, int lda, bool transA, ReadOnlySpan<float> b, int ldb,
        int m, int n, int k, Gemm.PrefetchStream* stream)
    {
        const int Panel = 64;
        for (int j = 0; j < n; j += Panel)
            Gemm.Multiply(c[j..], ldc, a, lda, transA, b[j..], ldb, false, m, Math.Min(Panel, n - j), k, accumulate: false, Gemm.Kernel.Auto, stream);
    }

    private Branch Factor(BranchTensors t, BranchState state)
    {
        int d = heads.D, h = heads.H, m = heads.M;
        ReadOnlySpan<float> hw = state.Window(config.Window, out int n);
        var a = new float[n * d];
        if (t.Wa is { } wa) Gemm.Multiply<float>(a, d, hw, h, false, wa.Of(parameters), d, false, n, d, h, accumulate: false);
        else TensorPrimitives.Multiply(hw, 1f / MathF.Sqrt(h), a);
        if (!Pools(n, h, m)) return new Branch(t.Head, n, a, hw.ToArray(), Pooled: false);
        var pool = new float[n * m];
        Gemm.Multiply<float>(pool, m, hw, h, false, heads.OtherT(t.Head), m, false, n, m, h, accumulate: false);
        return new Branch(t.Head, n, a, pool, Pooled: true);
    }

    /// <summary>
    /// <see cref="HeadParts.RoundingShare"/> of Σ_k Σ_j |α w2_kj| max |z_kj| + |Σ α b2| over this call's heads, z
    /// being W1_f f (bounded per branch, <see cref="Bounds"/>), the user head's U part, or 0 for an empty window.
    /// </summary>
    private float CallSlack(Branch[] branches, float[] userPart)
    {
        int m = heads.M, h = heads.H;
        ReadOnlySpan<float> w2 = heads.W2Alpha;
        double sum = heads.OutputBiasMagnitude;
        var zMax = new double[m];
        foreach (var br in branches)
        {
            if (br.Rows == 0) continue;
            Array.Clear(zMax);
            if (br.Pooled)
                for (int r = 0; r < br.Rows; r++)
                    for (int j = 0; j < m; j++) zMax[j] = Math.Max(zMax[j], Math.Abs(br.Pool[r * m + j]));
            else
            {
                var hMax = new double[h];
                for (int r = 0; r < br.Rows; r++)
                    for (int e = 0; e < h; e++) hMax[e] = Math.Max(hMax[e], Math.Abs(br.Pool[r * h + e]));
                ReadOnlySpan<float> w1T = heads.OtherT(br.Head);
                for (int e = 0; e < h; e++)
                    for (int j = 0; j < m; j++) zMax[j] += Math.Abs(w1T[e * m + j]) * hMax[e];
            }
            for (int j = 0; j < m; j++) sum += Math.Abs(w2[br.Head * m + j]) * zMax[j];
        }
        if (heads.HasUserHead)
            for (int j = 0; j < m; j++) sum += Math.Abs(w2[(heads.Heads - 1) * m + j]) * Math.Abs(userPart[j]);
        float slack = (float)(heads.RoundingShare * sum * (1 + 1e-6));
        return float.IsFinite(slack) ? slack : float.PositiveInfinity;
    }

    /// <summary>
    /// Whether a candidate's W1_f f costs fewer FMAs from P = Hw W1_fᵀ (n·M) than as f = Hwᵀ α then W1_f f
    /// (n·H + H·M), for a window of <paramref name="n"/> rows.
    /// </summary>
    internal static bool Pools(int n, int h, int m) => (long)n * m <= (long)n * h + (long)h * m;

    /// <summary>
    /// p = σ(logit), sixteen at a time by <see cref="Simd{T}.Sigmoid"/>, the last length mod 16 one by one through the
    /// same lane code (<see cref="HeadParts.Probability"/>), so a candidate's p does not depend on where it lies in the block.
    /// </summary>
    private static void Sigmoids(ReadOnlySpan<float> logits, Span<float> p)
    {
        int w = Vector512<float>.Count, i = 0;
        for (; i + w <= logits.Length; i += w) Simd<float>.Sigmoid(Vector512.Create(logits.Slice(i, w))).CopyTo(p.Slice(i, w));
        for (; i < logits.Length; i++) p[i] = HeadParts.Probability(logits[i]);
    }

    /// <summary>
    /// Each column of <paramref name="s"/> (n rows of <paramref name="b"/>) in place by its softmax, shifted by the
    /// column's maximum, sixteen columns at a time in registers (e^x by <see cref="Simd{T}.Exp"/>); the last
    /// b mod 16 columns go through <paramref name="tail"/> (n·16) padded with zeros, so every column is computed by
    /// the same vector code and a candidate's scores do not depend on where it lies in the block.
    /// </summary>
    private static void SoftmaxColumns(Span<float> s, int b, Span<float> tail)
    {
        int n = s.Length / b, c = 0, w = Vector512<float>.Count;
        for (; c + w <= b; c += w) Softmax16(s[c..], b, n);
        int rest = b - c;
        if (rest == 0) return;
        tail.Clear();
        for (int j = 0; j < n; j++) s.Slice(j * b + c, rest).CopyTo(tail.Slice(j * w, rest));
        Softmax16(tail, w, n);
        for (int j = 0; j < n; j++) tail.Slice(j * w, rest).CopyTo(s.Slice(j * b + c, rest));
    }

    /// <summary>The softmax of the first sixteen columns of <paramref name="s"/>'s n rows of stride <paramref name="stride"/>.</summary>
    private static void Softmax16(Span<float> s, int stride, int n)
    {
        ref float r = ref MemoryMarshal.GetReference(s);
        Vector512<float> max = Vector512.LoadUnsafe(ref r);
        for (int j = 1; j < n; j++) max = Vector512.Max(max, Vector512.LoadUnsafe(ref r, (nuint)(j * stride)));
        Vector512<float> sum = Vector512<float>.Zero;
        for (int j = 0; j < n; j++)
        {
            var e = Simd<float>.Exp(Vector512.LoadUnsafe(ref r, (nuint)(j * stride)) - max);
            e.StoreUnsafe(ref r, (nuint)(j * stride));
            sum += e;
        }
        Vector512<float> inv = Vector512<float>.One / sum;
        for (int j = 0; j < n; j++) (Vector512.LoadUnsafe(ref r, (nuint)(j * stride)) * inv).StoreUnsafe(ref r, (nuint)(j * stride));
    }
}
