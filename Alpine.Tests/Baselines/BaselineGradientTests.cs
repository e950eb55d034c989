using Alpine.Baselines;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Tests.Train;

namespace Alpine.Tests.Baselines;

/// <summary>
/// Every baseline's hand-written backward against float64 central differences, over every parameter tensor,
/// at tiny shapes on groups of one user's targets with short, full and empty click windows (so what a group's
/// targets share gets the gradient of each of them).
/// </summary>
[TestFixture]
public class BaselineGradientTests
{
    private static readonly PreparedData Kuaishou = TinyData.Prepare(3, users: 5, maxPerUser: 24);
    private static readonly PreparedData ThacilData = TinyData.Prepare(3, users: 5, maxPerUser: 24, thacil: true);

    public static IEnumerable<TestCaseData> Nets()
    {
        yield return Case("bpr", d => new Bpr(d.Items, d.UserCount, dim: 3));
        yield return Case("ncf", d => new Ncf(d.Items, d.UserCount, dim: 4));
        yield return Case("din", d => new Din(d.Items, d.UserCount, Window, dim: 3, attentionHidden: 4, headHidden: [5, 3]));
        yield return Case("lstm_r", d => new LstmR(d.Items, dim: 3, hidden: 4, mlpHidden: 5));
        yield return Case("cnn_r", d => new CnnR(d.Items, Window, dim: 3, filters: 2, vertical: 2, mlpHidden: 5));
        yield return Case("atrank", d => new Atrank(d.Items, Window, dim: 4, heads: 2, ffHidden: 3, mlpHidden: 5));
        Func<PreparedData, BaselineNet> thacil = d => new Thacil(d.Items, Window, span: 3, dim: 4, categoryDim: 3, heads: 2, ffHidden: 3, mlpHidden: 5);
        yield return Case("thacil", thacil, categories: true);
        yield return Case("thacil", thacil);
    }

    private static TestCaseData Case(string name, Func<PreparedData, BaselineNet> create, bool categories = false) =>
        new TestCaseData(name, create, categories).SetName($"GradCheck_{name}{(categories ? "_categories" : "")}");

    [TestCaseSource(nameof(Nets)), Category("GradCheck")]
    public void BackwardMatchesFiniteDifferences(string name, Func<PreparedData, BaselineNet> create, bool categories)
    {
        PreparedData data = categories ? ThacilData : Kuaishou;
        BaselineNet net = create(data);
        var targets = new ImpressionTargets(data);
        // Targets whose windows are empty, partial and full, in one group per user.
        int[][] groups = PickTargets(data, targets, net.Window);
        var rng = new Random(5);
        // Initial values plus noise: biases and embeddings away from zero, ReLU units on both sides.
        double[] p = net.Initialise(9).Select(x => x + 0.3 * (2 * rng.NextDouble() - 1)).ToArray();
        double[][] r = groups.Select(group => group.Select(_ => 2 * rng.NextDouble() - 1).ToArray()).ToArray();
        var work = new GroupWork<double>();

        double LossOf(double[] q)
        {
            double s = 0;
            for (int k = 0; k < groups.Length; k++)
            {
                var logits = new double[groups[k].Length];
                net.ForwardGroup<double>(q, targets, groups[k], logits, work);
                for (int i = 0; i < logits.Length; i++) s += r[k][i] * logits[i];
            }
            return s;
        }

        var g = new double[p.Length];
        for (int k = 0; k < groups.Length; k++)
        {
            net.ForwardGroup<double>(p, targets, groups[k], new double[groups[k].Length], work);
            net.BackwardGroup<double>(p, g, targets, groups[k], r[k], work);
        }
        Assert.That(net.Layout.Slots, Is.Not.Empty);
        foreach (var s in net.Layout.Slots)
            GradCheck.Check($"{name} {s.Name}", p, s.Offset, s.Size, LossOf, g.AsSpan(s.Offset, s.Size), tolerance: 1e-5);
    }

    /// <summary>A target scores the same in a group of its user's targets as alone: sharing is exact up to rounding.</summary>
    [TestCaseSource(nameof(Nets))]
    public void AGroupScoresEachTargetAsItScoresAlone(string name, Func<PreparedData, BaselineNet> create, bool categories)
    {
        PreparedData data = categories ? ThacilData : Kuaishou;
        BaselineNet net = create(data);
        var targets = new ImpressionTargets(data);
        double[] p = net.Initialise(9).Select(x => (double)x).ToArray();
        var work = new GroupWork<double>();
        foreach (int[] group in PickTargets(data, targets, net.Window))
        {
            var together = new double[group.Length];
            net.ForwardGroup<double>(p, targets, group, together, work);
            var alone = new double[1];
            for (int i = 0; i < group.Length; i++)
            {
                net.ForwardGroup<double>(p, targets, [group[i]], alone, work);
                Assert.That(together[i], Is.EqualTo(alone[0]).Within(1e-12), $"{name}: target {group[i]}");
            }
        }
    }

    /// <summary>The click window of the sequence baselines here: short, so some targets fill it.</summary>
    private const int Window = 4;

    /// <summary>One group per user: its first impression (no click before it: an empty window), a middle one and its last.</summary>
    private static int[][] PickTargets(PreparedData data, ImpressionTargets targets, int window)
    {
        var groups = new List<int[]>();
        foreach (int u in new[] { 0, 2 })
        {
            int lo = data.UserOffsets[u], hi = data.UserOffsets[u + 1];
            groups.Add([lo, (lo + hi) / 2, hi - 1]);
        }
        if (window is > 0 and < int.MaxValue)
            Assert.That(groups.SelectMany(g => g).Select(q => targets.At(q, window).Clicks.Length), Has.Some.EqualTo(0).And.Some.EqualTo(window));
        return groups.ToArray();
    }
}
