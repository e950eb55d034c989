using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class WindowEdgesTests
{
    /// <summary>
    /// Random windows of one sequence (some of 0, 1 or 2 items, some sharing a start), with their rows laid out
    /// back to back; the reference is <see cref="TemporalGraph.Build"/> on each copied window.
    /// </summary>
    private static (int[] Starts, int[] Ends, int[] Offsets, int[] Expected) Windows(Random rng, int[] seq, float[] visual, int dv, int L, EdgeMetric metric)
    {
        int T = seq.Length, count = rng.Next(1, 8);
        var windows = new List<(int S, int E)>();
        for (int i = 0; i < count; i++)
        {
            int s = rng.Next(T + 1);
            int e = rng.Next(4) == 0 ? Math.Min(T, s + rng.Next(3)) : rng.Next(s, T + 1); // short ones often
            windows.Add((s, e));
            if (rng.Next(3) == 0) windows.Add((s, rng.Next(s, T + 1))); // another end at the same start
        }
        windows.Sort((a, b) => a.S.CompareTo(b.S));
        var offsets = new int[windows.Count];
        var expected = new List<int>();
        for (int i = 0; i < windows.Count; i++)
        {
            var (s, e) = windows[i];
            offsets[i] = expected.Count;
            var one = new int[(e - s) * L];
            TemporalGraph.Build(seq.AsSpan(s, e - s), visual, dv, L, metric, one);
            expected.AddRange(one);
        }
        return (windows.Select(w => w.S).ToArray(), windows.Select(w => w.E).ToArray(), offsets, expected.ToArray());
    }

    [Test]
    public void EqualsSearchingEachCopiedWindowForBothMetricsTopL1To3AndTies()
    {
        var rng = new Random(17);
        int cases = 0, searched = 0;
        foreach (int dv in new[] { 1, 7, 64 })
        {
            var visual = TemporalGraphTests.Table(rng, groups: 5, dv); // exact copies, doubled vectors and a zero vector: ties
            int items = visual.Length / dv;
            foreach (int T in new[] { 0, 1, 2, 3, 6, 25, 70 })
                foreach (var metric in new[] { EdgeMetric.Euclidean, EdgeMetric.Cosine })
                    for (int L = 1; L <= 3; L++)
                        for (int rep = 0; rep < 4; rep++)
                        {
                            var seq = Enumerable.Range(0, T).Select(_ => rng.Next(items)).ToArray();
                            var whole = new int[T * L];
                            TemporalGraph.Build(seq, visual, dv, L, metric, whole);
                            var (starts, ends, offsets, expected) = Windows(rng, seq, visual, dv, L, metric);
                            var pred = Enumerable.Repeat(int.MinValue, expected.Length).ToArray(); // every entry must be written
                            // Positions in random runs, as the batcher's parallel work items cut them.
                            for (int from = 0; from < T;)
                            {
                                int to = Math.Min(T, from + rng.Next(1, 9));
                                WindowEdges.Build(pred, offsets, seq, whole, starts, ends, from, to, visual, dv, L, metric);
                                from = to;
                            }
                            string at = $"dv {dv} T {T} {metric} L {L} windows {string.Join(" ", starts.Zip(ends, (s, e) => $"[{s},{e})"))}";
                            Assert.That(pred, Is.EqualTo(expected), at);
                            cases++;
                            // Whether the subset shortcut alone could not answer some row, so the search ran too.
                            for (int i = 0; i < starts.Length; i++)
                                for (int p = starts[i] + 2; p < ends[i]; p++)
                                    if (p - 1 > L && whole.AsSpan(p * L, L).ToArray().Any(k => k < starts[i])) { searched++; goto next; }
                            next:;
                        }
        }
        Assert.That(searched, Is.GreaterThan(cases / 4), "the random windows exercise the search, not only the subset shortcut");
    }

    [Test]
    public void RowsOutsideFromToAreLeftAlone()
    {
        var rng = new Random(3);
        int dv = 4, L = 2;
        var visual = TemporalGraphTests.Table(rng, groups: 3, dv);
        var seq = Enumerable.Range(0, 20).Select(_ => rng.Next(visual.Length / dv)).ToArray();
        var whole = new int[seq.Length * L];
        TemporalGraph.Build(seq, visual, dv, L, EdgeMetric.Euclidean, whole);
        var pred = Enumerable.Repeat(int.MinValue, 15 * L).ToArray();
        WindowEdges.Build(pred, [0], seq, whole, [5], [20], 8, 12, visual, dv, L, EdgeMetric.Euclidean);
        var expected = new int[15 * L];
        TemporalGraph.Build(seq.AsSpan(5, 15), visual, dv, L, EdgeMetric.Euclidean, expected);
        for (int row = 0; row < 15; row++)
        {
            bool inside = row + 5 is >= 8 and < 12;
            Assert.That(pred.AsSpan(row * L, L).ToArray(), Is.EqualTo(inside ? expected.AsSpan(row * L, L).ToArray() : new[] { int.MinValue, int.MinValue }), $"row {row}");
        }
    }

    [Test]
    public void RefusesUnsortedStartsAndRowsThatDoNotFit()
    {
        var visual = new float[8];
        int[] seq = [0, 1, 0, 1, 0], whole = new int[5];
        var e = Assert.Throws<ArgumentException>(() => WindowEdges.Build(new int[10], [0, 5], seq, whole, [2, 1], [5, 5], 0, 5, visual, 2, 1, EdgeMetric.Euclidean));
        Assert.That(e!.Message, Does.Contain("ascending"));
        e = Assert.Throws<ArgumentException>(() => WindowEdges.Build(new int[3], [0], seq, whole, [1], [5], 0, 5, visual, 2, 1, EdgeMetric.Euclidean));
        Assert.That(e!.Message, Does.Contain("do not fit"));
        Assert.Throws<ArgumentOutOfRangeException>(() => WindowEdges.Build(new int[5], [0], seq, whole, [0], [5], 0, 6, visual, 2, 1, EdgeMetric.Euclidean));
    }

    [TestCase(EdgeMetric.Euclidean)]
    [TestCase(EdgeMetric.Cosine)]
    public void KeysAreOrderedUnlessAKeyCanBeNaN(EdgeMetric metric)
    {
        float[] Table(params float[] values) => [0.5f, -2f, 3e-3f, 0f, 0f, 0f, .. values]; // two items, then the third (dv = 3)
        Assert.That(WindowEdges.KeysAreOrdered(Table(1f, 2f, 3f), 3, metric), Is.True, "ordinary vectors and a zero vector");
        Assert.That(WindowEdges.KeysAreOrdered(Table(1f, float.NaN, 3f), 3, metric), Is.False, "a NaN value");
        Assert.That(WindowEdges.KeysAreOrdered(Table(float.PositiveInfinity, 0f, 0f), 3, metric), Is.False, "∞ − ∞ is NaN");
        // A tiny nonzero vector: its norm times another tiny norm can underflow to 0, and 0/0 is NaN (cosine only).
        Assert.That(WindowEdges.KeysAreOrdered(Table(1e-30f, 0f, 0f), 3, metric), Is.EqualTo(metric == EdgeMetric.Euclidean));
        Assert.That(WindowEdges.KeysAreOrdered(Table(0f, -3e20f, 0f), 3, metric), Is.EqualTo(metric == EdgeMetric.Euclidean), "dot products could overflow");
    }
}
