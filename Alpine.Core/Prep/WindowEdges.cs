using System.Numerics.Tensors;

namespace Alpine.Prep;

/// <summary>
/// Window-local temporal-graph edges (SPEC D4, D12 Window mode) for many windows of one sequence at once, equal
/// element for element to <see cref="TemporalGraph.Build"/> run on each window's copied items, but with far less
/// search. A window <c>[s, e)</c> of a sequence gives position p (local row p − s, p − s ≥ 2) the top-L of the
/// candidates k ∈ [s, p−2] in the order (key ascending, then larger k first): a strict total order when no key
/// is NaN (<see cref="KeysAreOrdered"/>), so the top-L of a candidate set is one well-defined list, and
/// <list type="number">
/// <item>(subset) the whole sequence's prepared edges of p, the top-L over [0, p−2], are the window's answer
/// when all L lie in [s, p−2] (a subset holding the full top-L has that top-L), or when [0, p−2] has no more
/// than L candidates (the prepared list is then all of them, in order);</item>
/// <item>(sharing) the top-L over [s, p−2] = the top-L of (top-L over [s′, p−2]) ∪ [s, s′) for s &lt; s′: going
/// through p's windows from the latest start down, each candidate key of p is computed once for all of them,
/// where searching each window would recompute it per window (a batch holds many overlapping windows of a user).</item>
/// </list>
/// The subset shortcut reads the prepared edges, so it assumes they were searched with this process's key function
/// (<see cref="TemporalGraph.Key"/>: a cache prepared on a machine whose SIMD width differs could round a key
/// differently and break a near-tie the other way; the whole-prefix windows and SharedPrefix mode read those same
/// prepared edges).
/// </summary>
public static class WindowEdges
{
    /// <summary>
    /// Effectively computes, for each window i = positions <c>[starts[i], ends[i])</c> of the sequence
    /// <paramref name="items"/>, the rows of positions p ∈ [<paramref name="from"/>, <paramref name="to"/>) of
    /// <c>TemporalGraph.Build(items[starts[i]..ends[i]], …)</c>, into
    /// <c>pred[predOffsets[i] + (p − starts[i])·L ..][..L]</c>. <paramref name="itemsPred"/> is
    /// <c>TemporalGraph.Build(items, …)</c> (the prepared edges; prefixes suffice: row p for p &lt; the largest end).
    /// Starts ascending (equal starts allowed). Each output row is written by the call whose [from, to) holds its
    /// position, so disjoint position ranges may run in parallel and give the same result on any schedule.
    /// Requires <see cref="KeysAreOrdered"/>; no allocation beyond a stack scratch of 2L entries.
    /// </summary>
    public static void Build(Span<int> pred, ReadOnlySpan<int> predOffsets, ReadOnlySpan<int> items, ReadOnlySpan<int> itemsPred,
        ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, int from, int to, ReadOnlySpan<float> visual, int dv, int topL, EdgeMetric metric)
    {
        int L = topL, windows = starts.Length;
        if (L is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(topL), topL, "top-L must be from 1 to 64");
        if (ends.Length != windows || predOffsets.Length != windows)
            throw new ArgumentException($"{windows} starts, {ends.Length} ends and {predOffsets.Length} offsets: expected one each per window");
        for (int i = 0; i < windows; i++)
        {
            if (starts[i] < 0 || ends[i] < starts[i] || ends[i] > items.Length)
                throw new ArgumentException($"window {i} = [{starts[i]}, {ends[i]}) is not inside the sequence's {items.Length} items", nameof(ends));
            if (i > 0 && starts[i] < starts[i - 1]) throw new ArgumentException("window starts must be ascending", nameof(starts));
            if (predOffsets[i] < 0 || predOffsets[i] + (ends[i] - starts[i]) * L > pred.Length)
                throw new ArgumentException($"window {i}'s rows do not fit pred", nameof(predOffsets));
        }
        if (from < 0 || to < from || to > items.Length)
            throw new ArgumentOutOfRangeException(nameof(to), $"positions [{from}, {to}) are not inside the sequence's {items.Length} items");
        if (itemsPred.Length < to * L) throw new ArgumentException($"itemsPred has {itemsPred.Length} entries; rows up to {to} need {to * L}", nameof(itemsPred));

        Span<float> bestKey = stackalloc float[L];
        Span<int> best = stackalloc int[L];
        for (int p = from; p < to; p++)
        {
            var prepared = itemsPred.Slice(p * L, L);
            var x = ReadOnlySpan<float>.Empty;
            float xNorm = 0f; // cosine: Norm(x), computed with x on the first search at p
            // The running top-L over [searched, p−2], nearest first; windows go from the latest start down.
            int searched = p - 1, found = 0;
            for (int i = windows - 1; i >= 0; i--)
            {
                int s = starts[i];
                if (s > p || p >= ends[i]) continue;
                var row = pred.Slice(predOffsets[i] + (p - s) * L, L);
                row.Fill(-1);
                if (p - s < 2)
                {
                    if (p - s == 1) row[0] = 0; // position 1 links to 0 (SPEC D4)
                    continue;
                }
                int m = 0;
                foreach (int k in prepared) if (k >= s) row[m++] = k - s; // -1 pads fail k ≥ s
                if (m == L || p - 1 <= L) continue; // subset shortcut (see the class comment)

                if (x.IsEmpty)
                {
                    x = visual.Slice(items[p] * dv, dv);
                    xNorm = metric == EdgeMetric.Cosine ? TensorPrimitives.Norm(x) : 0f;
                }
                // k descending: candidates already held are more recent, so they go before equal keys.
                for (int k = searched - 1; k >= s; k--)
                    TemporalGraph.Offer(bestKey, best, ref found, TemporalGraph.Key(metric, x, xNorm, visual.Slice(items[k] * dv, dv)), k, newest: false);
                searched = Math.Min(searched, s);
                for (int l = 0; l < found; l++) row[l] = best[l] - s;
            }
        }
    }

    /// <summary>
    /// Whether no edge key (<see cref="TemporalGraph.Key"/>) of the item table can be NaN, which
    /// <see cref="Build"/>'s exactness rests on (a NaN key is unordered: <see cref="TemporalGraph.Build"/> then
    /// depends on the scan order, and no shortcut is exact). Euclidean: every value finite (a sum of squares of
    /// finite differences overflows to +∞ at worst, which is ordered). Cosine: also each vector zero or with its
    /// largest |component| in [2⁻⁴⁰, 2⁴⁰], so norms, dot products and their quotient neither overflow nor divide
    /// 0 by an underflowed 0. One pass over the table.
    /// </summary>
    public static bool KeysAreOrdered(ReadOnlySpan<float> visual, int dv, EdgeMetric metric)
    {
        if (dv < 1 || visual.Length % dv != 0) throw new ArgumentException($"visual length {visual.Length} is not a multiple of dv = {dv}", nameof(visual));
        const float Small = 1f / (1L << 40), Large = 1L << 40;
        for (int a = 0; a < visual.Length; a += dv)
        {
            var v = visual.Slice(a, dv);
            float max = TensorPrimitives.MaxMagnitude(v); // NaN when any value is NaN
            if (!float.IsFinite(max)) return false;
            if (metric == EdgeMetric.Cosine && max != 0f && Math.Abs(max) is < Small or > Large) return false;
        }
        return true;
    }
}
