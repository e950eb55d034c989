using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Inference;

/// <summary>One candidate's score: the click probability p = σ(ŷ) (SPEC D10).</summary>
public readonly record struct Ranked(int Item, float Probability);

/// <summary>
/// Ranks candidate micro-videos for a user "now": after every impression of the user in the prepared data.
/// The user's click and not-click histories are encoded the way the model was trained (SPEC D12: the whole
/// sequence for SharedPrefix, the ≤ W most recent items with window-local edges for Window), and each candidate
/// attends over the ≤ W most recent states (SPEC D2).
/// </summary>
public sealed class Recommender(PreparedData data, IAlpineBackend backend, BatchMode mode)
{
    /// <summary>
    /// Scores <paramref name="candidates"/> for <paramref name="user"/>, best first (ties: input order). An item
    /// listed twice is ranked once, at its first place in the input.
    /// </summary>
    public Ranked[] Rank(int user, ReadOnlySpan<int> candidates)
    {
        candidates = Distinct(candidates);
        if ((uint)user >= (uint)data.UserCount)
            throw new UsageException($"user {user} is not in the data set (ids are 0..{data.UserCount - 1})");
        for (int i = 0; i < candidates.Length; i++)
            if ((uint)candidates[i] >= (uint)data.ItemCount)
                throw new UsageException($"item {candidates[i]} is not in the data set (ids are 0..{data.ItemCount - 1})");
        int n = candidates.Length;
        if (n == 0) return [];
        var config = backend.Config;
        var (clicks, cStart, cEnd) = History(data.ClickSequences, user, config.Window);
        var (notClicks, nStart, nEnd) = config.UsesUninterest
            ? History(data.NotClickSequences, user, config.Window)
            : (SequenceSet.Empty(data.TopL), 0, 0); // dropped branch: never read (SPEC D10)
        var batch = new Batch
        {
            Clicks = clicks, NotClicks = notClicks,
            TargetUser = Filled(n, user), TargetItem = candidates.ToArray(), Label = [],
            ClickSeq = new int[n], ClickStart = Filled(n, cStart), ClickEnd = Filled(n, cEnd),
            NotClickSeq = new int[n], NotClickStart = Filled(n, nStart), NotClickEnd = Filled(n, nEnd),
        };
        var logits = new float[n];
        backend.Predict(batch, logits);
        var ranked = new Ranked[n];
        for (int i = 0; i < n; i++) ranked[i] = new Ranked(candidates[i], 1f / (1f + MathF.Exp(-logits[i])));
        var order = Enumerable.Range(0, n).OrderByDescending(i => ranked[i].Probability).ThenBy(i => i);
        return order.Select(i => ranked[i]).ToArray();
    }

    /// <summary>The user's whole sequence as one SequenceSet, and the window [start, end) a candidate reads.</summary>
    private (SequenceSet Set, int Start, int End) History(SequenceSet all, int user, int window)
    {
        int from = all.Offsets[user], len = all.Length(user), L = data.TopL;
        if (mode == BatchMode.Window && len > window)
        {
            // Window mode re-encodes only the W most recent items, with edges inside that window (the paper).
            from += len - window;
            len = window;
            var items = all.Items.AsSpan(from, len).ToArray();
            var pred = new int[len * L];
            TemporalGraph.Build(items, data.Items.Visual, data.Items.VisualDim, L, data.Metric, pred);
            return (new SequenceSet([0, len], items, pred, L), 0, len);
        }
        var set = new SequenceSet([0, len], all.Items.AsSpan(from, len).ToArray(), all.GraphPred.AsSpan(from * L, len * L).ToArray(), L);
        return (set, Math.Max(0, len - window), len);
    }

    private static ReadOnlySpan<int> Distinct(ReadOnlySpan<int> ids)
    {
        var seen = new HashSet<int>();
        var kept = new List<int>(ids.Length);
        foreach (int id in ids) if (seen.Add(id)) kept.Add(id);
        return kept.Count == ids.Length ? ids : kept.ToArray();
    }

    private static int[] Filled(int n, int value)
    {
        var a = new int[n];
        Array.Fill(a, value);
        return a;
    }
}
