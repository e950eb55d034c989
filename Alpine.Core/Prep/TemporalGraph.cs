using System.Numerics.Tensors;

namespace Alpine.Prep;

/// <summary>How "nearest" is measured between two PCA visual vectors for graph edges (SPEC D4).</summary>
public enum EdgeMetric
{
    /// <summary>Squared Euclidean distance (the reference code; default).</summary>
    Euclidean,
    /// <summary>Cosine similarity, nearest = most similar; a zero vector has similarity 0 to everything.</summary>
    Cosine,
}

/// <summary>
/// The temporal graph's cross-time edges (paper 3.2, 4.6; SPEC D4). They depend only on the sequence,
/// never on the target, so each user sequence is searched once.
/// </summary>
public static class TemporalGraph
{
    /// <summary>
    /// Effectively computes, for each position t of a sequence of T items,
    /// <c>pred[t*L .. t*L+L)</c> = the L earlier positions k ≤ t−2 whose visual vectors are nearest to
    /// position t's, nearest first, ties to the most recent k; position 1 gets [0, -1, …]; position 0 and
    /// missing candidates get -1. <paramref name="visual"/> is the item table <c>[items, dv]</c>.
    /// O(T²·dv) time, no allocation beyond a stack scratch of L entries.
    /// </summary>
    public static void Build(ReadOnlySpan<int> itemsOfSequence, ReadOnlySpan<float> visual, int dv, int topL,
        EdgeMetric metric, Span<int> pred)
    {
        int T = itemsOfSequence.Length;
        if (topL < 1) throw new ArgumentOutOfRangeException(nameof(topL), topL, "top-L must be at least 1");
        if (dv < 1 || visual.Length % dv != 0) throw new ArgumentException($"visual length {visual.Length} is not a multiple of dv = {dv}", nameof(visual));
        if (pred.Length != T * topL) throw new ArgumentException($"pred has length {pred.Length}; expected T·L = {T * topL}", nameof(pred));

        pred.Fill(-1);
        if (T >= 2) pred[topL] = 0;

        Span<float> bestKey = topL <= 64 ? stackalloc float[topL] : new float[topL];
        for (int t = 2; t < T; t++)
        {
            var x = visual.Slice(itemsOfSequence[t] * dv, dv);
            float xNorm = metric == EdgeMetric.Cosine ? TensorPrimitives.Norm(x) : 0f;
            var best = pred.Slice(t * topL, topL);
            int found = 0;
            // k ascending: each candidate is more recent than those held.
            for (int k = 0; k <= t - 2; k++)
                Offer(bestKey, best, ref found, Key(metric, x, xNorm, visual.Slice(itemsOfSequence[k] * dv, dv)), k, newest: true);
        }
    }

    /// <summary>
    /// Runs <see cref="Build"/> on every sequence of a CSR set: sequence s is
    /// <c>items[offsets[s]..offsets[s+1])</c>; returns <c>pred</c> [items.Length·L], positions within each
    /// sequence. Sequences run in parallel; the result does not depend on the partitioning.
    /// </summary>
    public static int[] BuildAll(int[] offsets, int[] items, float[] visual, int dv, int topL, EdgeMetric metric,
        IProgress<double>? progress = null, CancellationToken ct = default)
    {
        var pred = new int[checked(items.Length * topL)];
        int count = offsets.Length - 1, done = 0;
        // Work is O(T²): hand the longest sequences out first so one big user does not finish last.
        var byLength = Enumerable.Range(0, count).OrderByDescending(s => offsets[s + 1] - offsets[s]).ToArray();
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, count, Math.Max(1, count / 256)),
            new ParallelOptions { CancellationToken = ct }, range =>
            {
                for (int i = range.Item1; i < range.Item2; i++)
                {
                    int s = byLength[i], a = offsets[s], b = offsets[s + 1];
                    Build(items.AsSpan(a, b - a), visual, dv, topL, metric, pred.AsSpan(a * topL, (b - a) * topL));
                }
                int d = Interlocked.Add(ref done, range.Item2 - range.Item1);
                progress?.Report((double)d / count);
            });
        return pred;
    }

    /// <summary>
    /// The search key of candidate <paramref name="y"/> for position <paramref name="x"/>: smaller is nearer.
    /// <paramref name="xNorm"/> is <c>TensorPrimitives.Norm(x)</c> for cosine (unused for Euclidean). Every edge
    /// search calls this one function, so window-local searches (<see cref="WindowEdges"/>) order and tie
    /// candidates bit for bit as the whole-sequence search did.
    /// </summary>
    /// <summary>
    /// Offers candidate k to the running top-L (<paramref name="best"/>.Length entries, the first
    /// <paramref name="found"/> filled): nearest first, equal keys the more recent k first. <paramref name="newest"/>:
    /// k is more recent than every candidate held (a scan by k ascending), so it goes before equal keys; else (k
    /// descending) after them. The one insertion rule of <see cref="Build"/> and <see cref="WindowEdges"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void Offer(Span<float> bestKey, Span<int> best, ref int found, float key, int k, bool newest)
    {
        int L = best.Length;
        if (found == L && (newest ? key > bestKey[L - 1] : key >= bestKey[L - 1])) return;
        int at = 0;
        while (at < found && (newest ? bestKey[at] < key : bestKey[at] <= key)) at++;
        for (int j = Math.Min(found, L - 1); j > at; j--) { bestKey[j] = bestKey[j - 1]; best[j] = best[j - 1]; }
        bestKey[at] = key; best[at] = k;
        if (found < L) found++;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static float Key(EdgeMetric metric, ReadOnlySpan<float> x, float xNorm, ReadOnlySpan<float> y) =>
        metric == EdgeMetric.Euclidean ? SquaredDistance(x, y) : -Cosine(x, xNorm, y);

    /// <summary>Σ (x−y)², vectorised (AVX2: 8 floats a step, two accumulators).</summary>
    internal static float SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        System.Diagnostics.Debug.Assert(x.Length == y.Length);
        int n = x.Length, i = 0;
        float sum = 0f;
        if (System.Numerics.Vector.IsHardwareAccelerated && n >= System.Numerics.Vector<float>.Count)
        {
            int w = System.Numerics.Vector<float>.Count;
            var acc = System.Numerics.Vector<float>.Zero;
            for (; i <= n - w; i += w)
            {
                var d = new System.Numerics.Vector<float>(x[i..]) - new System.Numerics.Vector<float>(y[i..]);
                acc += d * d;
            }
            sum = System.Numerics.Vector.Sum(acc);
        }
        for (; i < n; i++) { float d = x[i] - y[i]; sum += d * d; }
        return sum;
    }

    private static float Cosine(ReadOnlySpan<float> x, float xNorm, ReadOnlySpan<float> y)
    {
        float yNorm = TensorPrimitives.Norm(y);
        return xNorm == 0f || yNorm == 0f ? 0f : TensorPrimitives.Dot(x, y) / (xNorm * yNorm);
    }
}
