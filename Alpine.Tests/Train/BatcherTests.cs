using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Tests.Prep;
using Alpine.Train;

namespace Alpine.Tests.Train;

[TestFixture]
public class BatcherTests
{
    /// <summary>Loss, logits and the flat gradient of one batch of the given targets in one mode.</summary>
    private static (float Loss, float[] Logits, float[] Grad, long CellSteps) Run(PreparedData data, ModelConfig config, BatchMode mode, int[] targets,
        bool sharePrefixes = true)
    {
        using var backend = TinyData.Backend(data, config);
        var batch = new Batcher(data, config, mode) { SharePrefixes = sharePrefixes }.Build(targets);
        var logits = new float[targets.Length];
        backend.ZeroGradients();
        float loss = backend.ForwardBackward(batch, logits);
        var g = new float[backend.Layout.Size];
        backend.CopyGradientsTo(g);
        return (loss, logits, g, Batcher.CellSteps(batch));
    }

    private static int[] TrainTargets(PreparedData data, Batcher b) => b.PositionsOf(SplitPart.Train);

    private static int MaxHistory(PreparedData d, int[] targets) =>
        targets.Max(p => Math.Max(d.ClickHistEnd[p], d.NotClickHistEnd[p]));

    /// <summary>
    /// Window against the paper's layout (a copy of every target's window): the logits bit for bit (the same per-row
    /// operations), the loss and gradients to float rounding (their sums run in another order), with fewer steps. With
    /// W = 9 some windows are truncated and some are whole histories; with W = 40 every history fits, and Window's
    /// sequences are SharedPrefix's: the same bits throughout.
    /// </summary>
    [TestCase(Variant.Alpine, 9)]
    [TestCase(Variant.UMG, 9)]
    [TestCase(Variant.Alpine, 40)]
    [TestCase(Variant.UMG, 40)]
    public void WindowIsThePapersLayoutWithFewerStepsAndSharedPrefixWhereHistoriesFit(Variant variant, int w)
    {
        var data = TinyData.Prepare(seed: 3, users: 5, maxPerUser: 40);
        var config = TinyData.Config(variant, window: w);
        int[] targets = TrainTargets(data, new Batcher(data, config, BatchMode.Window));
        bool fits = MaxHistory(data, targets) <= w;
        Assert.That(fits, Is.EqualTo(w == 40), "the premise: every history fits W = 40");
        if (!fits) Assert.That(targets.Count(p => data.NotClickHistEnd[p] > w), Is.InRange(1, targets.Length - 1), "the premise: some windows truncated, some not");

        var window = Run(data, config, BatchMode.Window, targets);
        var copies = Run(data, config, BatchMode.Window, targets, sharePrefixes: false);
        Assert.That(window.CellSteps, Is.LessThan(copies.CellSteps), "sharing encodes fewer steps");
        Assert.That(window.Logits, Is.EqualTo(copies.Logits).AsCollection);
        Assert.That(window.Loss, Is.EqualTo(copies.Loss).Within(1e-5f));
        float scale = copies.Grad.Max(Math.Abs);
        Assert.That(scale, Is.GreaterThan(0f));
        int worst = Enumerable.Range(0, window.Grad.Length).MaxBy(i => Math.Abs(window.Grad[i] - copies.Grad[i]));
        Assert.That(Math.Abs(window.Grad[worst] - copies.Grad[worst]), Is.LessThanOrEqualTo(1e-4f * scale),
            $"worst gradient element {worst}: {window.Grad[worst]} vs {copies.Grad[worst]}");
        if (!fits) return;
        var shared = Run(data, config, BatchMode.SharedPrefix, targets);
        Assert.That(window.CellSteps, Is.EqualTo(shared.CellSteps));
        Assert.That(window.Logits, Is.EqualTo(shared.Logits).AsCollection, "the same sequences: the same bits");
        Assert.That(window.Grad, Is.EqualTo(shared.Grad).AsCollection);
    }

    [Test]
    public void ModesDifferWhenSomeHistoryExceedsTheWindow()
    {
        var data = TinyData.Prepare(seed: 3, users: 5, maxPerUser: 24);
        var config = TinyData.Config(window: 3);
        int[] targets = TrainTargets(data, new Batcher(data, config, BatchMode.SharedPrefix));
        Assert.That(MaxHistory(data, targets), Is.GreaterThan(config.Window), "the premise: some history exceeds W");
        var shared = Run(data, config, BatchMode.SharedPrefix, targets);
        var window = Run(data, config, BatchMode.Window, targets);
        Assert.That(Math.Abs(shared.Loss - window.Loss), Is.GreaterThan(1e-6f),
            "a shared prefix carries state from before the window; a window starts from zero");
    }

    [Test]
    public void SharedPrefixEncodesEachUsersPrefixOnceAndWindowsReadTheMostRecentW()
    {
        var data = TinyData.Prepare(seed: 4, users: 4, maxPerUser: 30);
        var config = TinyData.Config(window: 5);
        var batcher = new Batcher(data, config, BatchMode.SharedPrefix);
        int[] targets = TrainTargets(data, batcher);
        var b = batcher.Build(targets);
        int users = targets.Select(p => batcher.UserOf[p]).Distinct().Count();
        Assert.That(b.Clicks.Count, Is.EqualTo(users));
        Assert.That(b.NotClicks.Count, Is.EqualTo(users));
        for (int t = 0; t < targets.Length; t++)
        {
            int p = targets[t], u = batcher.UserOf[p], e = data.ClickHistEnd[p];
            Assert.That((b.ClickStart[t], b.ClickEnd[t]), Is.EqualTo((Math.Max(0, e - 5), e)));
            // The window's items are the user's clicks [e−W, e): the sequence is the user's own prefix.
            int s = b.ClickSeq[t];
            for (int k = b.ClickStart[t]; k < b.ClickEnd[t]; k++)
                Assert.That(b.Clicks.Items[b.Clicks.Offsets[s] + k], Is.EqualTo(data.ClickItem[data.ClickOffsets[u] + k]));
            Assert.That(b.Label[t], Is.EqualTo(batcher.Clicked(p) ? 1f : 0f));
        }
    }

    [Test]
    public void WindowModeTargetsReadTheirOwnWindowWithLocalEdgesAndShareWholeHistories()
    {
        var data = TinyData.Prepare(seed: 4, users: 3, maxPerUser: 30);
        const int W = 4;
        var config = TinyData.Config(window: W);
        var batcher = new Batcher(data, config, BatchMode.Window);
        int[] targets = TrainTargets(data, batcher);
        var b = batcher.Build(targets);
        var keys = targets.Select(p => (batcher.UserOf[p], data.ClickHistEnd[p] <= W ? 0 : data.ClickHistEnd[p])).Distinct().Count();
        Assert.That(b.Clicks.Count, Is.EqualTo(keys), "one sequence per user's whole histories, one per distinct truncated window");
        Assert.That(b.Clicks.Count, Is.LessThan(targets.Length));
        for (int t = 0; t < targets.Length; t++)
        {
            int p = targets[t], u = batcher.UserOf[p], e = data.ClickHistEnd[p], len = Math.Min(W, e), s = b.ClickSeq[t];
            Assert.That((b.ClickStart[t], b.ClickEnd[t]), Is.EqualTo((0, len)), "a window starts its sequence");
            var window = b.Clicks.Items.AsSpan(b.Clicks.Offsets[s], len);
            Assert.That(window.ToArray(), Is.EqualTo(data.ClickItem.AsSpan(data.ClickOffsets[u] + e - len, len).ToArray()), "the ≤ W most recent clicks");
            var preds = b.Clicks.GraphPred.AsSpan(b.Clicks.Offsets[s], len);
            var expected = new int[len];
            TemporalGraph.Build(window, data.Items.Visual, data.Items.VisualDim, 1, data.Metric, expected);
            Assert.That(preds.ToArray(), Is.EqualTo(expected), "the window's own edges, as if it were the whole sequence");
            for (int k = 0; k < len; k++)
                Assert.That(preds[k], Is.LessThan(Math.Max(k - 1, 1)), "edges point back inside the window (k ≤ t−2, or 0 at t = 1)");
        }
        var copies = new Batcher(data, config, BatchMode.Window) { SharePrefixes = false }.Build(targets);
        Assert.That(copies.Clicks.Count, Is.EqualTo(targets.Length), "the paper's layout: a sequence per target");
        Assert.That(copies.ClickSeq, Is.EqualTo(Enumerable.Range(0, targets.Length)));
    }

    /// <summary>
    /// Window batches (both kinds of sequence) against a plain reimplementation of their definition: what each target
    /// reads is its ≤ W most recent items, with the prepared edges when the window is the whole history and
    /// <see cref="TemporalGraph.Build"/> on the copied window otherwise; and against the batcher's own
    /// search-each-window path. Features repeat in pairs (items i and i + 20 share a vector) and items recur, so
    /// keys tie; batches are epoch plans' (pieces of a user, a user's targets sharing or shifting their windows).
    /// </summary>
    [TestCase(1, EdgeMetric.Euclidean, 5)]
    [TestCase(2, EdgeMetric.Euclidean, 9)]
    [TestCase(3, EdgeMetric.Cosine, 7)]
    [TestCase(2, EdgeMetric.Cosine, 1)]
    public void WindowBatchesEqualSearchingEachCopiedWindow(int L, EdgeMetric metric, int window)
    {
        var log = TinyData.Log(seed: 9, users: 5, maxPerUser: 70);
        var features = TinyData.Features(9);
        features.AsSpan(0, 20 * TinyData.FeatureDim).CopyTo(features.AsSpan(20 * TinyData.FeatureDim));
        var data = PreparedData.FromLog(log, new ArrayFeatureRows(features, TinyData.FeatureDim), null,
            new PrepareOptions { TopL = L, Metric = metric }, "tiny");
        var config = TinyData.Config(window: window) with { TopL = L };
        var batcher = new Batcher(data, config, BatchMode.Window);
        var reference = new Batcher(data, config, BatchMode.Window) { SearchEachWindow = true };
        var copies = new Batcher(data, config, BatchMode.Window) { SharePrefixes = false };   // duplicates copied from their first
        Assert.That(batcher.SearchEachWindow, Is.False, "finite features: the shared search");
        int[] targets = TrainTargets(data, batcher);
        Assert.That(targets.Count(p => data.NotClickHistEnd[p] > window), Is.GreaterThan(targets.Length / 3), "the premise: many windows are truncated");
        int truncated = 0, duplicates = 0;
        var plan = BatchPlan.ForEpoch(targets, batcher.UserOf, batchSize: 40, pieceSize: 15, seed: 4, epoch: 0);
        foreach (int[] batch in plan.Append(targets))
        {
            var b = batcher.Build(batch);
            var r = reference.Build(batch);
            var c = copies.Build(batch);
            Assert.That(c.ClickSeq, Is.EqualTo(Enumerable.Range(0, batch.Length)), "the paper's layout: a sequence per target");
            foreach (var (set, refSet, copySet, view, histEnd) in new[]
            {
                (b.Clicks, r.Clicks, c.Clicks, (data.ClickOffsets, data.ClickItem, data.ClickGraphPred), data.ClickHistEnd),
                (b.NotClicks, r.NotClicks, c.NotClicks, (data.NotClickOffsets, data.NotClickItem, data.NotClickGraphPred), data.NotClickHistEnd),
            })
            {
                Assert.That(set.Offsets, Is.EqualTo(refSet.Offsets));
                Assert.That(set.Items, Is.EqualTo(refSet.Items));
                Assert.That(set.GraphPred, Is.EqualTo(refSet.GraphPred), "the search-each-window path");
                var (offsets, items, pred) = view;
                // Targets of one user with one history end share a truncated window: one sequence, or (copies) a copy of the first.
                duplicates += batch.Where(p => histEnd[p] > window).GroupBy(p => (batcher.UserOf[p], histEnd[p])).Count(g => g.Count() > 1);
                bool clicks = ReferenceEquals(histEnd, data.ClickHistEnd);
                foreach (var (x, seqOf, start, end) in new[]
                {
                    (set, clicks ? b.ClickSeq : b.NotClickSeq, clicks ? b.ClickStart : b.NotClickStart, clicks ? b.ClickEnd : b.NotClickEnd),
                    (copySet, clicks ? c.ClickSeq : c.NotClickSeq, clicks ? c.ClickStart : c.NotClickStart, clicks ? c.ClickEnd : c.NotClickEnd),
                })
                    for (int t = 0; t < batch.Length; t++)
                    {
                        int p = batch[t], e = histEnd[p], len = Math.Min(e, window), from = offsets[batcher.UserOf[p]] + e - len;
                        Assert.That((start[t], end[t]), Is.EqualTo((0, len)), "a window starts its sequence");
                        int at = x.Offsets[seqOf[t]];
                        Assert.That(x.Length(seqOf[t]), Is.GreaterThanOrEqualTo(len));
                        var edges = pred.AsSpan(from * L, len * L).ToArray();
                        if (len < e) { TemporalGraph.Build(items.AsSpan(from, len), data.Items.Visual, data.Items.VisualDim, L, metric, edges); truncated++; }
                        Assert.That(x.Items.AsSpan(at, len).ToArray(), Is.EqualTo(items.AsSpan(from, len).ToArray()));
                        Assert.That(x.GraphPred.AsSpan(at * L, len * L).ToArray(), Is.EqualTo(edges), "each copied window searched on its own");
                    }
            }
        }
        Assert.That(truncated, Is.GreaterThan(0));
        Assert.That(duplicates, Is.GreaterThan(0), "some batch holds duplicate truncated windows");
    }

    [Test]
    public void WindowBatchesSearchEachWindowWhenACosineKeyCouldBeNaN()
    {
        var log = TinyData.Log(seed: 2, users: 3, maxPerUser: 30);
        var features = TinyData.Features(2);
        foreach (var metric in new[] { EdgeMetric.Euclidean, EdgeMetric.Cosine })
        {
            var data = PreparedData.FromLog(log, new ArrayFeatureRows(features, TinyData.FeatureDim), null, new PrepareOptions { Metric = metric }, "tiny");
            data.Items.Visual.AsSpan(0, data.Items.VisualDim).Fill(1e-30f); // item 0's PCA vector: tiny, nonzero
            Assert.That(new Batcher(data, TinyData.Config(), BatchMode.Window).SearchEachWindow, Is.EqualTo(metric == EdgeMetric.Cosine), $"{metric}");
            Assert.That(new Batcher(data, TinyData.Config(), BatchMode.SharedPrefix).SearchEachWindow, Is.False, "SharedPrefix searches no window");
        }
    }

    [TestCase(BatchMode.SharedPrefix, Variant.Alpine, true)]
    [TestCase(BatchMode.Window, Variant.Alpine, true)]
    [TestCase(BatchMode.Window, Variant.Alpine, false)]
    [TestCase(BatchMode.SharedPrefix, Variant.UM, true)]
    [TestCase(BatchMode.Window, Variant.U, true)]
    public void CountingCellStepsMatchesBuildingTheBatch(BatchMode mode, Variant variant, bool sharePrefixes)
    {
        var data = TinyData.Prepare(seed: 8, users: 6, maxPerUser: 40);
        var batcher = new Batcher(data, TinyData.Config(variant, window: 7), mode) { SharePrefixes = sharePrefixes };
        int[] targets = TrainTargets(data, batcher);
        foreach (var batch in BatchPlan.ForEpoch(targets, batcher.UserOf, batchSize: 20, pieceSize: 6, seed: 2, epoch: 0))
            Assert.That(batcher.CountCellSteps(batch), Is.EqualTo(Batcher.CellSteps(batcher.Build(batch))));
    }

    [Test]
    public void DroppedUninterestBranchEncodesNoNotClickSequence()
    {
        var data = TinyData.Prepare(seed: 5, users: 3);
        var config = TinyData.Config(Variant.U);
        var batcher = new Batcher(data, config, BatchMode.SharedPrefix);
        var b = batcher.Build(TrainTargets(data, batcher));
        Assert.That(b.NotClicks.TotalSteps, Is.Zero);
        Assert.That(Batcher.CellSteps(b), Is.EqualTo(b.Clicks.TotalSteps));
    }

    [Test]
    public void EpochPlansAreDeterministicPerEpochCoverEveryTargetOnceAndKeepPiecesWhole()
    {
        var data = TinyData.Prepare(seed: 6, users: 8);
        var batcher = new Batcher(data, TinyData.Config(), BatchMode.SharedPrefix);
        int[] targets = TrainTargets(data, batcher);
        var a = BatchPlan.ForEpoch(targets, batcher.UserOf, batchSize: 10, pieceSize: 4, seed: 1, epoch: 2);
        var again = BatchPlan.ForEpoch(targets, batcher.UserOf, batchSize: 10, pieceSize: 4, seed: 1, epoch: 2);
        var other = BatchPlan.ForEpoch(targets, batcher.UserOf, batchSize: 10, pieceSize: 4, seed: 1, epoch: 3);
        Assert.That(a, Is.EqualTo(again));
        Assert.That(a.SelectMany(x => x), Is.Not.EqualTo(other.SelectMany(x => x)), "another epoch, another order");
        Assert.That(a.SelectMany(x => x).Order(), Is.EqualTo(targets.Order()), "each target once");
        Assert.That(a.All(x => x.Length <= 10));
        var scoring = BatchPlan.ForScoring(targets, batcher.UserOf, batchSize: 10);
        Assert.That(scoring.SelectMany(x => x), Is.EqualTo(targets), "scoring keeps position order");
    }
}
