using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class GraphLstmTests
{
    /// <summary>One layer's parameters and inputs in float64, random but away from saturation.</summary>
    private sealed class Case
    {
        public required int D, H;
        public required bool UseGraph;
        public required CStarReading CStar;
        public required SequenceSet Seqs;
        public required double[] Wx, Wh, Wg, B, X, R;

        public GraphLstm<double> NewLayer() => new(D, H, UseGraph, CStar, Seqs.TopL);

        /// <summary>The test loss Σ r ⊙ h.</summary>
        public double Loss(GraphLstm<double> layer)
        {
            var h = new double[Seqs.TotalSteps * H];
            layer.Forward(Wx, Wh, Wg, B, Seqs, X, h);
            double l = 0;
            for (int i = 0; i < h.Length; i++) l += R[i] * h[i];
            return l;
        }
    }

    private static Case MakeCase(int seed, int[] lengths, int d, int h, bool useGraph, CStarReading cstar, int topL, int[]? graphPred = null)
    {
        var rng = new Random(seed);
        var seqs = MakeSequences(rng, lengths, topL, graphPred);
        int g = useGraph ? 8 : 4, n = seqs.TotalSteps;
        double[] Rand(int count, double scale) => Enumerable.Range(0, count).Select(_ => (rng.NextDouble() * 2 - 1) * scale).ToArray();
        return new Case
        {
            D = d, H = h, UseGraph = useGraph, CStar = cstar, Seqs = seqs,
            Wx = Rand(g * h * d, 0.6), Wh = Rand(4 * h * h, 0.6), Wg = useGraph ? Rand(4 * h * h, 0.6) : [],
            B = Rand(g * h, 0.3), X = Rand(n * d, 1.0), R = Rand(n * h, 1.0),
        };
    }

    /// <summary>
    /// Sequences of the given lengths with SPEC D4's edge shape: position 0 none, position 1 → 0, later
    /// positions up to L distinct random k ≤ t−2 (padded with -1 when fewer exist), unless given by hand.
    /// </summary>
    private static SequenceSet MakeSequences(Random rng, int[] lengths, int topL, int[]? graphPred)
    {
        var offsets = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) offsets[s + 1] = offsets[s] + lengths[s];
        int n = offsets[^1];
        var pred = graphPred ?? new int[n * topL];
        if (graphPred == null)
        {
            Array.Fill(pred, -1);
            for (int s = 0; s < lengths.Length; s++)
                for (int t = 1; t < lengths[s]; t++)
                {
                    int row = offsets[s] + t;
                    var candidates = t == 1 ? [0] : Enumerable.Range(0, t - 1).OrderBy(_ => rng.Next()).ToArray();
                    for (int l = 0; l < Math.Min(topL, candidates.Length); l++) pred[row * topL + l] = candidates[l];
                }
        }
        return new SequenceSet(offsets, Enumerable.Range(0, n).ToArray(), pred, topL);
    }

    private static readonly int[] OddLengths = [7, 1, 5];

    public static IEnumerable<TestCaseData> Configs()
    {
        yield return new TestCaseData(true, CStarReading.Neighbor, 1).SetName("Graph_Neighbor_L1");
        yield return new TestCaseData(true, CStarReading.Neighbor, 3).SetName("Graph_Neighbor_L3");
        yield return new TestCaseData(true, CStarReading.Carried, 1).SetName("Graph_Carried_L1");
        yield return new TestCaseData(true, CStarReading.Carried, 3).SetName("Graph_Carried_L3");
        yield return new TestCaseData(false, CStarReading.Neighbor, 1).SetName("PlainLstm_umg");
    }

    [TestCaseSource(nameof(Configs))]
    public void ForwardEqualsNaiveReference(bool useGraph, CStarReading cstar, int topL)
    {
        var k = MakeCase(1, [7, 0, 1, 5], 5, 6, useGraph, cstar, topL);
        var h = new double[k.Seqs.TotalSteps * k.H];
        k.NewLayer().Forward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, h);
        var expected = NaiveGraphLstm.Forward(k.D, k.H, useGraph, cstar, k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X);
        Assert.That(h, Is.EqualTo(expected).Within(1e-12));
    }

    /// <summary>
    /// Shapes where the GEMM's SIMD micro-tiles, row remainders and column remainders all occur
    /// (H = 40: 4H = 160 = 64 + 64 + 32 columns of floats; 9 sequences), in float against the naive double.
    /// </summary>
    [Test]
    public void ForwardEqualsNaiveReferenceAtSimdShapes()
    {
        var k = MakeCase(2, [12, 11, 11, 9, 8, 8, 5, 3, 2], 37, 40, true, CStarReading.Neighbor, 2);
        var layer = new GraphLstm<float>(k.D, k.H, true, CStarReading.Neighbor, 2);
        var h = new float[k.Seqs.TotalSteps * k.H];
        layer.Forward(F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), k.Seqs, F(k.X), h);
        var expected = NaiveGraphLstm.Forward(k.D, k.H, true, CStarReading.Neighbor, k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X);
        Assert.That(h.Select(v => (double)v), Is.EqualTo(expected).Within(2e-5));
    }

    [TestCaseSource(nameof(Configs)), Category("GradCheck")]
    public void BackwardMatchesFiniteDifferences(bool useGraph, CStarReading cstar, int topL)
    {
        var k = MakeCase(3, OddLengths, 5, 6, useGraph, cstar, topL);
        CheckAllGradients(k);
    }

    /// <summary>An empty sequence and a length-1 sequence among others change nothing and break nothing.</summary>
    [Test, Category("GradCheck")]
    public void BackwardMatchesFiniteDifferencesWithEmptyAndSingleStepSequences()
    {
        var k = MakeCase(4, [0, 4, 1, 0, 6], 5, 6, true, CStarReading.Neighbor, 2);
        CheckAllGradients(k);
    }

    /// <summary>
    /// Fan-in: position 1 is the t* of positions 3…8, so its h and c receive gradient from seven later
    /// steps (and position 0 from a mean with position 1 at L = 2).
    /// </summary>
    [TestCase(CStarReading.Neighbor), TestCase(CStarReading.Carried), Category("GradCheck")]
    public void BackwardMatchesFiniteDifferencesWithFanIn(CStarReading cstar)
    {
        const int L = 2;
        int[] lengths = [9, 3];
        var pred = new int[12 * L];
        Array.Fill(pred, -1);
        pred[1 * L] = 0;
        for (int t = 2; t < 9; t++) { pred[t * L] = 1; if (t % 2 == 0) pred[t * L + 1] = 0; }
        pred[(9 + 1) * L] = 0;
        pred[(9 + 2) * L] = 0;
        var k = MakeCase(5, lengths, 5, 6, true, cstar, L, pred);
        CheckAllGradients(k);
    }

    private static void CheckAllGradients(Case k)
    {
        var layer = k.NewLayer();
        int n = k.Seqs.TotalSteps;
        var h = new double[n * k.H];
        layer.Forward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, h);
        var dx = new double[k.X.Length];
        var dwx = new double[k.Wx.Length];
        var dwh = new double[k.Wh.Length];
        var dwg = new double[k.Wg.Length];
        var db = new double[k.B.Length];
        layer.Backward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, k.R, dx, dwx, dwh, dwg, db);

        var probe = k.NewLayer();
        GradCheck.Check("dx", k.X, _ => k.Loss(probe), dx);
        GradCheck.Check("dWx", k.Wx, _ => k.Loss(probe), dwx);
        GradCheck.Check("dWh", k.Wh, _ => k.Loss(probe), dwh);
        if (k.UseGraph) GradCheck.Check("dWg", k.Wg, _ => k.Loss(probe), dwg);
        GradCheck.Check("db", k.B, _ => k.Loss(probe), db);
    }

    /// <summary>Weight gradients accumulate (+=) and dx is assigned, llm.c's rule; one Backward per Forward.</summary>
    [Test]
    public void BackwardAccumulatesWeightGradientsAndAssignsDx()
    {
        var k = MakeCase(6, OddLengths, 5, 6, true, CStarReading.Neighbor, 1);
        var layer = k.NewLayer();
        var h = new double[k.Seqs.TotalSteps * k.H];
        layer.Forward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, h);
        double[] Grad(int len) => new double[len];
        var (dx1, dwx1, dwh1, dwg1, db1) = (Grad(k.X.Length), Grad(k.Wx.Length), Grad(k.Wh.Length), Grad(k.Wg.Length), Grad(k.B.Length));
        layer.Backward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, k.R, dx1, dwx1, dwh1, dwg1, db1);
        var dx2 = Enumerable.Repeat(123.0, k.X.Length).ToArray();
        var (dwx2, dwh2, dwg2, db2) = ((double[])dwx1.Clone(), (double[])dwh1.Clone(), (double[])dwg1.Clone(), (double[])db1.Clone());
        // Backward overwrites the activations with their gradients: a second one needs a fresh Forward.
        Assert.Throws<InvalidOperationException>(() => layer.Backward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, k.R, dx2, dwx2, dwh2, dwg2, db2));
        Assert.That(dwx2, Is.EqualTo(dwx1), "a refused Backward adds nothing");
        layer.Forward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, h);
        layer.Backward(k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X, k.R, dx2, dwx2, dwh2, dwg2, db2);
        Assert.That(dx2, Is.EqualTo(dx1));
        Assert.That(dwx2, Is.EqualTo(dwx1.Select(v => 2 * v)).Within(1e-12));
        Assert.That(dwh2, Is.EqualTo(dwh1.Select(v => 2 * v)).Within(1e-12));
        Assert.That(dwg2, Is.EqualTo(dwg1.Select(v => 2 * v)).Within(1e-12));
        Assert.That(db2, Is.EqualTo(db1.Select(v => 2 * v)).Within(1e-12));
    }

    /// <summary>An empty dx skips the dx GEMM (x has no trained part) and leaves every weight gradient the same bits.</summary>
    [TestCase(true, CStarReading.Neighbor), TestCase(true, CStarReading.Carried), TestCase(false, CStarReading.Neighbor)]
    public void SkippingDxLeavesTheWeightGradientsBitIdentical(bool useGraph, CStarReading cstar)
    {
        var k = MakeCase(9, [30, 17, 0, 1, 25, 9, 30, 4], 16, 20, useGraph, cstar, 2);
        var (wx, wh, wg, b, x, r) = (F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        var layer = new GraphLstm<float>(k.D, k.H, useGraph, cstar, 2);
        var full = Run(layer, k, wx, wh, wg, b, x, r);
        var h = new float[k.Seqs.TotalSteps * k.H];
        var (dwx, dwh, dwg, db) = (new float[wx.Length], new float[wh.Length], new float[wg.Length], new float[b.Length]);
        layer.Forward(wx, wh, wg, b, k.Seqs, x, h);
        layer.Backward(wx, wh, wg, b, k.Seqs, x, r, [], dwx, dwh, dwg, db);
        Assert.That(full[1], Has.Some.Not.EqualTo(0f), "the full run computed a dx");
        Assert.That(dwx, Is.EqualTo(full[2]).AsCollection, "dWx");
        Assert.That(dwh, Is.EqualTo(full[3]).AsCollection, "dWh");
        Assert.That(dwg, Is.EqualTo(full[4]).AsCollection, "dWg");
        Assert.That(db, Is.EqualTo(full[5]).AsCollection, "db");
    }

    [Test]
    public void FloatPathEqualsDoublePathAndRepeatsBitForBit()
    {
        var k = MakeCase(7, [30, 17, 0, 1, 25, 9, 30, 4], 16, 20, true, CStarReading.Neighbor, 3);
        var dbl = Run(k.NewLayer(), k, k.Wx, k.Wh, k.Wg, k.B, k.X, k.R);
        var first = Run(new GraphLstm<float>(k.D, k.H, true, k.CStar, 3), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        var second = Run(new GraphLstm<float>(k.D, k.H, true, k.CStar, 3), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        for (int i = 0; i < dbl.Length; i++)
        {
            double scale = dbl[i].Max(v => Math.Abs(v));
            Assert.That(first[i].Select(v => (double)v), Is.EqualTo(dbl[i]).Within(2e-5 * Math.Max(1, scale)), $"tensor {i}");
            Assert.That(second[i], Is.EqualTo(first[i]).AsCollection, $"tensor {i} differs between two float runs");
        }
    }

    /// <summary>
    /// A Window-shaped set: enough sequences for groups of 8, steps across several time blocks, and rows enough
    /// that the activation buffers come from the huge-page path of <see cref="Buffers.Allocate{T}"/>. The float
    /// layer equals the double one within float rounding and repeats bit for bit, also on reused buffers.
    /// </summary>
    [Test]
    public void WindowShapedSetMatchesTheDoublePath()
    {
        var rng = new Random(11);
        int[] lengths = Enumerable.Range(0, 80).Select(_ => rng.Next(40, 71)).ToArray();
        var k = MakeCase(12, lengths, 8, 64, true, CStarReading.Neighbor, 2);
        Assert.That((long)k.Seqs.TotalSteps * 8 * 64 * sizeof(float), Is.GreaterThanOrEqualTo(Buffers.HugeFrom), "the gates buffer takes the huge-page path");
        var dbl = Run(k.NewLayer(), k, k.Wx, k.Wh, k.Wg, k.B, k.X, k.R);
        var layer = new GraphLstm<float>(k.D, k.H, true, k.CStar, 2);
        var first = Run(layer, k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        var again = Run(layer, k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        for (int i = 0; i < dbl.Length; i++)
        {
            double scale = Math.Max(1, dbl[i].DefaultIfEmpty().Max(v => Math.Abs(v)));
            Assert.That(first[i].Select(v => (double)v), Is.EqualTo(dbl[i]).Within(1e-4 * scale), $"tensor {i}");
            Assert.That(again[i], Is.EqualTo(first[i]).AsCollection, $"tensor {i} differs on the reused buffers");
        }
    }

    /// <summary>
    /// Rows of repeated items (Window mode's overlapping windows) share one projection per item, and (in groups)
    /// their dWx part is summed per item first: h, dx, db, dWh and dWg are the same bits as a set with distinct
    /// ids and the same x gives (every row projected, dWx over rows), dWx equal within float rounding; in
    /// double, everything equals the per-row path and h the naive reference.
    /// </summary>
    /// <param name="sequences">70: groups of 8 by default; 20: one group.</param>
    [TestCase(true, CStarReading.Neighbor, 0, 70), TestCase(true, CStarReading.Carried, 0, 70), TestCase(false, CStarReading.Neighbor, 0, 70),
     TestCase(true, CStarReading.Neighbor, 3, 70), TestCase(true, CStarReading.Neighbor, 0, 20)]
    public void RepeatedItemsShareTheirProjectionBitForBit(bool useGraph, CStarReading cstar, int group, int sequences)
    {
        var rng = new Random(21);
        int[] lengths = Enumerable.Range(0, sequences).Select(_ => rng.Next(0, 26)).ToArray();
        var k = MakeCase(22, lengths, 6, 12, useGraph, cstar, 2);
        int n = k.Seqs.TotalSteps, items = 9;
        int[] itemOf = Enumerable.Range(0, n).Select(_ => rng.Next(items)).ToArray();
        double[] table = Enumerable.Range(0, items * k.D).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        for (int r = 0; r < n; r++) Array.Copy(table, itemOf[r] * k.D, k.X, r * k.D, k.D);
        var repeated = new SequenceSet(k.Seqs.Offsets, itemOf, k.Seqs.GraphPred, k.Seqs.TopL);
        var shared = new Case { D = k.D, H = k.H, UseGraph = useGraph, CStar = cstar, Seqs = repeated, Wx = k.Wx, Wh = k.Wh, Wg = k.Wg, B = k.B, X = k.X, R = k.R };

        float[][] RunOn(Case c) => Run(new GraphLstm<float>(c.D, c.H, useGraph, cstar, 2, 2, group, shareByItem: true), c, F(c.Wx), F(c.Wh), F(c.Wg), F(c.B), F(c.X), F(c.R));
        var perItem = RunOn(shared);
        var perRow = RunOn(k);
        foreach (int i in new[] { 0, 1, 3, 4, 5 }) Assert.That(perItem[i], Is.EqualTo(perRow[i]).AsCollection, $"tensor {i}");
        double scale = Math.Max(1, perRow[2].Max(v => Math.Abs(v)));
        Assert.That(perItem[2], Is.EqualTo(perRow[2]).Within(1e-5 * scale), "dWx");

        var expected = NaiveGraphLstm.Forward(k.D, k.H, useGraph, cstar, k.Wx, k.Wh, k.Wg, k.B, repeated, k.X);
        var dbl = Run(new GraphLstm<double>(k.D, k.H, useGraph, cstar, 2, 2, group, shareByItem: true), shared, k.Wx, k.Wh, k.Wg, k.B, k.X, k.R);
        var dblRow = Run(new GraphLstm<double>(k.D, k.H, useGraph, cstar, 2, 2, group), k, k.Wx, k.Wh, k.Wg, k.B, k.X, k.R);
        Assert.That(dbl[0], Is.EqualTo(expected).Within(1e-12), "h by item, double");
        for (int i = 1; i < dbl.Length; i++) Assert.That(dbl[i], Is.EqualTo(dblRow[i]).Within(1e-12), $"tensor {i} by item, double");
    }

    /// <summary>A set of repeated item ids, x a function of the item; groups of 8 by default when ≥ 64 sequences.</summary>
    private static Case RepeatedItemCase(int seed, int sequences, int maxLength, int items)
    {
        var rng = new Random(seed);
        int[] lengths = Enumerable.Range(0, sequences).Select(s => s == 1 ? 0 : rng.Next(1, maxLength + 1)).ToArray();
        var k = MakeCase(seed + 1, lengths, 6, 12, true, CStarReading.Neighbor, 2);
        int n = k.Seqs.TotalSteps;
        int[] itemOf = Enumerable.Range(0, n).Select(_ => rng.Next(items)).ToArray();
        double[] table = Enumerable.Range(0, items * k.D).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        for (int r = 0; r < n; r++) Array.Copy(table, itemOf[r] * k.D, k.X, r * k.D, k.D);
        var seqs = new SequenceSet(k.Seqs.Offsets, itemOf, k.Seqs.GraphPred, k.Seqs.TopL);
        return new Case { D = k.D, H = k.H, UseGraph = true, CStar = CStarReading.Neighbor, Seqs = seqs, Wx = k.Wx, Wh = k.Wh, Wg = k.Wg, B = k.B, X = k.X, R = k.R };
    }

    /// <summary>SPEC D13 by item too: the chunk count changes no bit of the grouped, shared-projection path.</summary>
    [Test]
    public void ChunkCountChangesNoBitByItem()
    {
        var k = RepeatedItemCase(31, 75, 40, 11);
        float[][] RunWith(int chunks) =>
            Run(new GraphLstm<float>(k.D, k.H, true, k.CStar, 2, chunks, shareByItem: true), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        var one = RunWith(1);
        var three = RunWith(3);
        for (int i = 0; i < one.Length; i++) Assert.That(three[i], Is.EqualTo(one[i]).AsCollection, $"tensor {i}");
    }

    /// <summary>
    /// One layer reused across sets that take every path (grouped by item with an empty sequence, one group by
    /// item, grouped per row, one group per row), larger and smaller in turn: each result is what a fresh layer
    /// gives, so no buffer or scratch carries anything over.
    /// </summary>
    [Test]
    public void ReusedLayerMatchesFreshLayersAcrossPaths()
    {
        Case[] cases =
        [
            RepeatedItemCase(41, 70, 40, 9),                                       // groups, by item
            RepeatedItemCase(43, 12, 30, 5),                                       // one group, by item
            MakeCase(45, Enumerable.Range(0, 66).Select(s => 3 + s % 20).ToArray(), 6, 12, true, CStarReading.Neighbor, 2), // groups, per row
            MakeCase(47, [25, 0, 17, 3], 6, 12, true, CStarReading.Neighbor, 2),   // one group, per row
            RepeatedItemCase(41, 70, 40, 9),
        ];
        GraphLstm<float> New() => new(6, 12, true, CStarReading.Neighbor, 2, 2, shareByItem: true);
        var reused = New();
        foreach (var (k, i) in cases.Select((k, i) => (k, i)))
        {
            var again = Run(reused, k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
            var fresh = Run(New(), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
            for (int t = 0; t < fresh.Length; t++) Assert.That(again[t], Is.EqualTo(fresh[t]).AsCollection, $"set {i}, tensor {t}");
        }
    }

    /// <summary>Without the caller's promise (the default), repeated ids with x differing per row are each projected.</summary>
    [Test]
    public void WithoutSharingRepeatedIdsKeepTheirOwnX()
    {
        var k = MakeCase(51, Enumerable.Range(0, 70).Select(s => 2 + s % 9).ToArray(), 6, 12, true, CStarReading.Neighbor, 2);
        var sameId = new SequenceSet(k.Seqs.Offsets, new int[k.Seqs.TotalSteps], k.Seqs.GraphPred, k.Seqs.TopL);
        var expected = NaiveGraphLstm.Forward(k.D, k.H, true, k.CStar, k.Wx, k.Wh, k.Wg, k.B, sameId, k.X);
        var h = new double[k.Seqs.TotalSteps * k.H];
        new GraphLstm<double>(k.D, k.H, true, k.CStar, 2).Forward(k.Wx, k.Wh, k.Wg, k.B, sameId, k.X, h);
        Assert.That(h, Is.EqualTo(expected).Within(1e-12));
    }

    /// <summary>SPEC D13: how the sequences are cut into parallel chunks changes no bit.</summary>
    [Test]
    /// <param name="group">2: five groups, so the chunks cut between groups in different places; 0: the default for
    /// a set this small, one group whose recurrence the chunks cut between sequences.</param>
    [TestCase(2), TestCase(0)]
    public void ChunkCountChangesNoBit(int group)
    {
        var k = MakeCase(8, [30, 17, 0, 1, 25, 9, 30, 4, 12], 16, 20, true, CStarReading.Carried, 2);
        float[][] RunWith(int chunks) =>
            Run(new GraphLstm<float>(k.D, k.H, true, k.CStar, 2, chunks, group), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        var one = RunWith(1);
        var three = RunWith(3);
        for (int i = 0; i < one.Length; i++) Assert.That(three[i], Is.EqualTo(one[i]).AsCollection, $"tensor {i}");
    }

    /// <summary>
    /// The group size changes only the order the weight gradients are summed in: h, dx and db are the same
    /// bits, the weight gradients equal within float rounding, and in double every group size matches the
    /// naive reference.
    /// </summary>
    [TestCase(true, CStarReading.Neighbor), TestCase(true, CStarReading.Carried), TestCase(false, CStarReading.Neighbor)]
    public void GroupSizeChangesOnlyTheRoundingOfTheWeightGradients(bool useGraph, CStarReading cstar)
    {
        var k = MakeCase(10, [30, 17, 0, 1, 25, 9, 30, 4, 12, 3, 7], 16, 20, useGraph, cstar, 2);
        float[][] RunWith(int group) =>
            Run(new GraphLstm<float>(k.D, k.H, useGraph, cstar, 2, 2, group), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
        var whole = RunWith(64);
        foreach (int group in new[] { 1, 3 })
        {
            var split = RunWith(group);
            foreach (int i in new[] { 0, 1, 5 }) Assert.That(split[i], Is.EqualTo(whole[i]).AsCollection, $"group {group}: tensor {i}");
            foreach (int i in new[] { 2, 3, 4 })
            {
                double scale = Math.Max(1, whole[i].DefaultIfEmpty().Max(v => Math.Abs(v)));
                Assert.That(split[i], Is.EqualTo(whole[i]).Within(1e-5 * scale), $"group {group}: tensor {i}");
            }
        }
        var expected = NaiveGraphLstm.Forward(k.D, k.H, useGraph, cstar, k.Wx, k.Wh, k.Wg, k.B, k.Seqs, k.X);
        var dbl = Run(new GraphLstm<double>(k.D, k.H, useGraph, cstar, 2, 2, group: 3), k, k.Wx, k.Wh, k.Wg, k.B, k.X, k.R);
        Assert.That(dbl[0], Is.EqualTo(expected).Within(1e-12), "h, groups of 3");
        var reference = Run(k.NewLayer(), k, k.Wx, k.Wh, k.Wg, k.B, k.X, k.R);
        for (int i = 1; i < dbl.Length; i++) Assert.That(dbl[i], Is.EqualTo(reference[i]).Within(1e-12), $"tensor {i}, groups of 3");
    }

    /// <summary>
    /// The default group size follows the set (SPEC D13: a function of the set only): a set of fewer than
    /// <see cref="GraphLstm{T}.GroupedFrom"/> sequences runs as one group, a larger one in groups of
    /// <see cref="GraphLstm{T}.DefaultGroup"/>, each bit for bit what the explicit group size gives.
    /// </summary>
    [Test]
    public void DefaultGroupSizeFollowsTheSetSize()
    {
        var rng = new Random(5);
        int few = GraphLstm<float>.GroupedFrom - 1, many = GraphLstm<float>.GroupedFrom + 5;
        foreach (var (count, explicitGroup) in new[] { (few, few), (many, GraphLstm<float>.DefaultGroup) })
        {
            int[] lengths = Enumerable.Range(0, count).Select(_ => rng.Next(0, 9)).ToArray();
            var k = MakeCase(6, lengths, 8, 12, true, CStarReading.Neighbor, 2);
            float[][] RunWith(int group) =>
                Run(new GraphLstm<float>(k.D, k.H, true, k.CStar, 2, 2, group), k, F(k.Wx), F(k.Wh), F(k.Wg), F(k.B), F(k.X), F(k.R));
            var byDefault = RunWith(0);
            var byHand = RunWith(explicitGroup);
            for (int i = 0; i < byDefault.Length; i++)
                Assert.That(byDefault[i], Is.EqualTo(byHand[i]).AsCollection, $"{count} sequences: tensor {i}");
        }
    }

    /// <summary>Forward then backward; returns h, dx, dWx, dWh, dWg, db.</summary>
    private static TE[][] Run<TE>(GraphLstm<TE> layer, Case k, TE[] wx, TE[] wh, TE[] wg, TE[] b, TE[] x, TE[] r)
        where TE : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<TE>
    {
        int n = k.Seqs.TotalSteps;
        var outs = new[] { new TE[n * k.H], new TE[x.Length], new TE[wx.Length], new TE[wh.Length], new TE[wg.Length], new TE[b.Length] };
        layer.Forward(wx, wh, wg, b, k.Seqs, x, outs[0]);
        layer.Backward(wx, wh, wg, b, k.Seqs, x, r, outs[1], outs[2], outs[3], outs[4], outs[5]);
        return outs;
    }

    /// <summary>
    /// h and dx go out block by block while later blocks still read x and dh, so an output overlapping its input,
    /// wholly or in part (two views of one buffer), is refused; dx may share memory with x, which Backward does not read.
    /// </summary>
    [Test]
    public void OutputsOverlappingTheirInputsAreRefused()
    {
        var k = MakeCase(3, [5, 4], 6, 6, true, CStarReading.Neighbor, 1);
        var layer = new GraphLstm<float>(6, 6, true, CStarReading.Neighbor, 1);
        float[] wx = F(k.Wx), wh = F(k.Wh), wg = F(k.Wg), b = F(k.B), x = F(k.X);
        int n = x.Length;
        var both = new float[n + 7];
        x.CopyTo(both, 0);
        foreach (int shift in new[] { 0, 7 })
        {
            var forward = Assert.Throws<ArgumentException>(() => layer.Forward(wx, wh, wg, b, k.Seqs, both.AsSpan(0, n), both.AsSpan(shift, n)));
            Assert.That(forward!.Message, Does.Contain("h must not overlap x"), $"h {shift} values after x");
        }
        float[] Dw() => new float[wx.Length];
        void Backward(ReadOnlySpan<float> xs, ReadOnlySpan<float> dh, Span<float> dx) =>
            layer.Backward(wx, wh, wg, b, k.Seqs, xs, dh, dx, Dw(), new float[wh.Length], new float[wg.Length], new float[b.Length]);
        var dhBoth = new float[n + 5];
        F(k.R).CopyTo(dhBoth, 0);
        foreach (int shift in new[] { 0, 5 })
        {
            layer.Forward(wx, wh, wg, b, k.Seqs, x, new float[n]);
            var backward = Assert.Throws<ArgumentException>(() => Backward(x, dhBoth.AsSpan(0, n), dhBoth.AsSpan(shift, n)));
            Assert.That(backward!.Message, Does.Contain("dx must not overlap dh"), $"dx {shift} values after dh");
        }
        // dx over x's own memory is allowed, and gives the dx a separate array gets.
        var expected = new float[n];
        layer.Forward(wx, wh, wg, b, k.Seqs, x, new float[n]);
        Backward(x, F(k.R), expected);
        var shared = (float[])x.Clone();
        layer.Forward(wx, wh, wg, b, k.Seqs, shared, new float[n]);
        Backward(shared, F(k.R), shared);
        Assert.That(shared, Is.EqualTo(expected).AsCollection);
    }

    /// <summary>A set with no steps at all (a batch without not-click history) is a no-op that leaves the gradients as they were.</summary>
    [Test]
    public void EmptySetIsANoOp()
    {
        var layer = new GraphLstm<float>(5, 6, true, CStarReading.Neighbor, 1);
        var seqs = SequenceSet.Empty(1);
        var db = Enumerable.Repeat(0.5f, 48).ToArray();
        layer.Forward(new float[48 * 5], new float[24 * 6], new float[24 * 6], new float[48], seqs, [], []);
        layer.Backward(new float[48 * 5], new float[24 * 6], new float[24 * 6], new float[48], seqs, [], [], [], new float[48 * 5], new float[24 * 6], new float[24 * 6], db);
        Assert.That(db, Is.All.EqualTo(0.5f));
    }

    [Test]
    public void RejectsAGraphPredecessorThatIsNotEarlier()
    {
        var seqs = new SequenceSet([0, 3], [0, 1, 2], [-1, 0, 2], 1);
        var layer = new GraphLstm<double>(2, 3, true, CStarReading.Neighbor, 1);
        Assert.Throws<ArgumentException>(() => layer.Forward(new double[24 * 2], new double[36], new double[36], new double[24], seqs, new double[6], new double[9]));
    }

    private static float[] F(double[] a) => a.Select(v => (float)v).ToArray();
}
