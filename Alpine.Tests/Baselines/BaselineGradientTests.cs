using Alpine.Baselines;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Tests.Train;

namespace Alpine.Tests.Baselines;

/// <summary>
/// Every baseline's hand-written backward against float64 central differences, over every parameter tensor,
/// at tiny shapes on targets with short, full and empty click windows.
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
        yield return Case("lstm_r", d => new LstmR(d.Items, Window, dim: 3, hidden: 4, mlpHidden: 5));
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
        // Targets whose windows are empty, partial and full, from two users.
        int[] positions = PickTargets(data, targets, net.Window);
        var rng = new Random(5);
        // Initial values plus noise: biases and embeddings away from zero, ReLU units on both sides.
        double[] p = net.Initialise(9).Select(x => x + 0.3 * (2 * rng.NextDouble() - 1)).ToArray();
        double[] r = positions.Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        var act = new double[net.ActivationSize];

        double LossOf(double[] q)
        {
            double s = 0;
            for (int k = 0; k < positions.Length; k++) s += r[k] * net.Forward<double>(q, targets.At(positions[k], net.Window), act);
            return s;
        }

        var g = new double[p.Length];
        var scratch = new double[net.ScratchSize];
        for (int k = 0; k < positions.Length; k++)
        {
            Target t = targets.At(positions[k], net.Window);
            net.Forward<double>(p, t, act);
            net.Backward<double>(p, g, t, r[k], act, scratch);
        }
        Assert.That(net.Layout.Slots, Is.Not.Empty);
        foreach (var s in net.Layout.Slots)
            GradCheck.Check($"{name} {s.Name}", p, s.Offset, s.Size, LossOf, g.AsSpan(s.Offset, s.Size), tolerance: 1e-5);
    }

    /// <summary>The click window of the sequence baselines here: short, so some targets fill it.</summary>
    private const int Window = 4;

    private static int[] PickTargets(PreparedData data, ImpressionTargets targets, int window)
    {
        var picked = new List<int>();
        foreach (int u in new[] { 0, 2 })
        {
            int lo = data.UserOffsets[u], hi = data.UserOffsets[u + 1];
            picked.Add(lo); // no click before the first impression: an empty window
            picked.Add((lo + hi) / 2);
            picked.Add(hi - 1);
        }
        if (window > 0)
            Assert.That(picked.Select(q => targets.At(q, window).Clicks.Length), Has.Some.EqualTo(0).And.Some.EqualTo(window));
        return picked.ToArray();
    }
}
