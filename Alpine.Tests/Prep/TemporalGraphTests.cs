using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class TemporalGraphTests
{
    /// <summary>
    /// An item table with planted ties: items come in groups of four — a random vector, an exact copy,
    /// twice it (equal cosine) and a fresh random one — plus a zero vector as the last item.
    /// </summary>
    internal static float[] Table(Random rng, int groups, int dv)
    {
        var t = new float[(groups * 4 + 1) * dv];
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < dv; j++)
            {
                float v = (float)(rng.NextDouble() * 2 - 1);
                t[(4 * g) * dv + j] = v;
                t[(4 * g + 1) * dv + j] = v;
                t[(4 * g + 2) * dv + j] = 2 * v;
                t[(4 * g + 3) * dv + j] = (float)(rng.NextDouble() * 2 - 1);
            }
        return t;
    }

    /// <summary>Brute force in double: every candidate's key, sorted by (key, most recent first).</summary>
    private static int[] BruteForce(int[] seq, float[] visual, int dv, int L, EdgeMetric metric)
    {
        int T = seq.Length;
        var pred = Enumerable.Repeat(-1, T * L).ToArray();
        if (T >= 2) pred[L] = 0;
        for (int t = 2; t < T; t++)
        {
            var x = visual.AsSpan(seq[t] * dv, dv).ToArray();
            var ranked = Enumerable.Range(0, t - 1).Select(k =>
            {
                var y = visual.AsSpan(seq[k] * dv, dv).ToArray();
                double key;
                if (metric == EdgeMetric.Euclidean) key = x.Zip(y, (a, b) => (double)(a - b) * (a - b)).Sum();
                else
                {
                    double nx = Math.Sqrt(x.Sum(a => (double)a * a)), ny = Math.Sqrt(y.Sum(a => (double)a * a));
                    key = nx == 0 || ny == 0 ? 0 : -x.Zip(y, (a, b) => (double)a * b).Sum() / (nx * ny);
                }
                return (key, k);
            }).OrderBy(c => c.key).ThenByDescending(c => c.k).Take(L).ToArray();
            for (int l = 0; l < ranked.Length; l++) pred[t * L + l] = ranked[l].k;
        }
        return pred;
    }

    [Test]
    public void EqualsBruteForceForBothMetricsAndTopL1To4()
    {
        var rng = new Random(11);
        foreach (int dv in new[] { 1, 7, 64 })
        {
            var visual = Table(rng, groups: 6, dv);
            int items = visual.Length / dv;
            foreach (int T in new[] { 0, 1, 2, 3, 5, 17, 40 })
            {
                var seq = Enumerable.Range(0, T).Select(_ => rng.Next(items)).ToArray();
                foreach (var metric in new[] { EdgeMetric.Euclidean, EdgeMetric.Cosine })
                    for (int L = 1; L <= 4; L++)
                    {
                        var pred = new int[T * L];
                        TemporalGraph.Build(seq, visual, dv, L, metric, pred);
                        Assert.That(pred, Is.EqualTo(BruteForce(seq, visual, dv, L, metric)), $"dv {dv} T {T} {metric} L {L}");
                    }
            }
        }
    }

    [Test]
    public void TiesGoToTheMostRecentPositionAndShortHistoriesPad()
    {
        var visual = new float[] { 0f, 1f, 5f };   // dv = 1: item 0 at 0, item 1 at 1, item 2 at 5
        int[] seq = [0, 0, 2, 0, 1, 1];
        var pred = new int[seq.Length * 2];
        TemporalGraph.Build(seq, visual, 1, 2, EdgeMetric.Euclidean, pred);
        Assert.That(pred[0..2], Is.EqualTo(new[] { -1, -1 }), "position 0 has no predecessor");
        Assert.That(pred[2..4], Is.EqualTo(new[] { 0, -1 }), "position 1 links to 0");
        Assert.That(pred[4..6], Is.EqualTo(new[] { 0, -1 }), "position 2: only k = 0 is ≤ t-2");
        Assert.That(pred[6..8], Is.EqualTo(new[] { 1, 0 }), "position 3: k = 0 and 1 tie at 0; the later first");
        Assert.That(pred[8..10], Is.EqualTo(new[] { 1, 0 }), "position 4: k = 3 is its sequential edge, not a candidate");
        Assert.That(pred[10..12], Is.EqualTo(new[] { 3, 1 }), "position 5: three at distance 1, the two most recent");
    }

    [Test]
    public void BuildAllEqualsBuildPerSequence()
    {
        var rng = new Random(5);
        int dv = 9;
        var visual = Table(rng, groups: 5, dv);
        int items = visual.Length / dv;
        var lengths = new[] { 0, 3, 30, 1, 12, 0, 25 };
        var offsets = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) offsets[s + 1] = offsets[s] + lengths[s];
        var seqItems = Enumerable.Range(0, offsets[^1]).Select(_ => rng.Next(items)).ToArray();
        var all = TemporalGraph.BuildAll(offsets, seqItems, visual, dv, 3, EdgeMetric.Cosine);
        for (int s = 0; s < lengths.Length; s++)
        {
            var one = new int[lengths[s] * 3];
            TemporalGraph.Build(seqItems.AsSpan(offsets[s], lengths[s]), visual, dv, 3, EdgeMetric.Cosine, one);
            Assert.That(all[(offsets[s] * 3)..(offsets[s + 1] * 3)], Is.EqualTo(one));
        }
    }

    [Test]
    public void RefusesAWrongOutputLength()
    {
        var e = Assert.Throws<ArgumentException>(() => TemporalGraph.Build([0, 0, 0], new float[4], 2, 2, EdgeMetric.Euclidean, new int[5]));
        Assert.That(e!.Message, Does.Contain("T·L = 6"));
    }
}
