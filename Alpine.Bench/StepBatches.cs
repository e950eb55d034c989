using Alpine.Model;
using Alpine.Train;
using Alpine.Prep;

namespace Alpine.Bench;

/// <summary>
/// In-memory train batches for the whole-model step benchmarks (no data folder needed, so they run on a GPU
/// machine with nothing but the staged app). SharedPrefix: each user has one click and one not-click sequence and
/// <c>perUser</c> targets whose windows end evenly along them (SPEC D12). Window: the same targets, each owning
/// copies of its windows with the graph edges made window-local (an edge leaving the window becomes −1).
/// </summary>
public static class StepBatches
{
    public static Batch Build(BatchMode mode, int users, int clickSteps, int notClickSteps, int perUser, int window, int items, int seed)
    {
        var rng = new Random(seed);
        int targets = users * perUser;
        int[] user = Enumerable.Range(0, targets).Select(t => t / perUser).ToArray();
        int[] Ends(int steps) => Enumerable.Range(0, targets).Select(t => (t % perUser + 1) * steps / perUser).ToArray();
        int[] clickEnd = Ends(clickSteps), notEnd = Ends(notClickSteps);
        int[] clickStart = clickEnd.Select(e => Math.Max(0, e - window)).ToArray(), notStart = notEnd.Select(e => Math.Max(0, e - window)).ToArray();
        SequenceSet clicks = Shared(rng, users, clickSteps, items), notClicks = Shared(rng, users, notClickSteps, items);
        int[] targetItem = user.Select(_ => rng.Next(items)).ToArray();
        float[] label = user.Select(_ => (float)rng.Next(2)).ToArray();
        if (mode == BatchMode.SharedPrefix)
            return new Batch
            {
                Clicks = clicks, NotClicks = notClicks, TargetUser = user, TargetItem = targetItem, Label = label,
                ClickSeq = user, ClickStart = clickStart, ClickEnd = clickEnd, NotClickSeq = user, NotClickStart = notStart, NotClickEnd = notEnd,
            };
        int[] own = Enumerable.Range(0, targets).ToArray();
        return new Batch
        {
            Clicks = Windows(clicks, user, clickStart, clickEnd), NotClicks = Windows(notClicks, user, notStart, notEnd),
            TargetUser = user, TargetItem = targetItem, Label = label,
            ClickSeq = own, ClickStart = new int[targets], ClickEnd = clickEnd.Zip(clickStart, (e, s) => e - s).ToArray(),
            NotClickSeq = own, NotClickStart = new int[targets], NotClickEnd = notEnd.Zip(notStart, (e, s) => e - s).ToArray(),
        };
    }

    /// <summary>One sequence of <paramref name="steps"/> per user, L = 1, edges as SPEC D4 shapes them (0: none, 1 → 0, t → k ≤ t−2).</summary>
    private static SequenceSet Shared(Random rng, int users, int steps, int items)
    {
        int[] offsets = Enumerable.Range(0, users + 1).Select(u => u * steps).ToArray();
        int[] pred = Enumerable.Range(0, users * steps).Select(i => i % steps is var t && t == 0 ? -1 : t == 1 ? 0 : rng.Next(t - 1)).ToArray();
        return new SequenceSet(offsets, Enumerable.Range(0, users * steps).Select(_ => rng.Next(items)).ToArray(), pred, 1);
    }

    /// <summary>Sequence t = positions [start[t], end[t]) of sequence seq[t] of <paramref name="shared"/>.</summary>
    private static SequenceSet Windows(SequenceSet shared, int[] seq, int[] start, int[] end)
    {
        int targets = seq.Length;
        var offsets = new int[targets + 1];
        for (int t = 0; t < targets; t++) offsets[t + 1] = offsets[t] + end[t] - start[t];
        var items = new int[offsets[^1]];
        var pred = new int[offsets[^1]];
        for (int t = 0; t < targets; t++)
            for (int p = start[t]; p < end[t]; p++)
            {
                int from = shared.Offsets[seq[t]] + p, to = offsets[t] + p - start[t];
                items[to] = shared.Items[from];
                int k = shared.GraphPred[from];
                pred[to] = k >= start[t] ? k - start[t] : -1;
            }
        return new SequenceSet(offsets, items, pred, 1);
    }

    /// <summary>LSTM cell-steps of a batch (both branches).</summary>
    public static long CellSteps(Batch b) => (long)b.Clicks.TotalSteps + b.NotClicks.TotalSteps;
}
