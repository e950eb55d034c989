using Alpine.Eval;

namespace Alpine.Tests.Eval;

[TestFixture]
public class MetricsTests
{
    /// <summary>Random impressions: scores drawn from few values (many ties), some users with one class only.</summary>
    private static (int[] Users, float[] Logits, bool[] Clicks) RandomImpressions(int seed, int userCount, int n)
    {
        var rng = new Random(seed);
        var users = new int[n];
        var logits = new float[n];
        var clicks = new bool[n];
        for (int i = 0; i < n; i++)
        {
            int u = rng.Next(userCount);
            users[i] = u;
            logits[i] = rng.Next(7) * 0.5f - 1.5f; // 7 distinct values
            clicks[i] = (u % 5) switch { 0 => true, 1 => false, _ => rng.NextDouble() < 0.3 + 0.1 * logits[i] };
        }
        return (users, logits, clicks);
    }

    /// <summary>Paper Eq. 9 literally: over all (clicked, not-clicked) pairs, ties ½.</summary>
    private static double PairAuc(IEnumerable<int> idx, float[] s, bool[] c)
    {
        var list = idx.ToList();
        double good = 0; long pairs = 0;
        foreach (int i in list.Where(i => c[i]))
            foreach (int j in list.Where(j => !c[j]))
            {
                pairs++;
                good += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
        return pairs == 0 ? double.NaN : good / pairs;
    }

    [TestCase(1, 30, 400)]
    [TestCase(2, 7, 90)]
    [TestCase(3, 60, 2000)]
    public void AucsEqualBruteForcePairCounting(int seed, int userCount, int n)
    {
        var (users, logits, clicks) = RandomImpressions(seed, userCount, n);
        var r = Metrics.Compute(users, logits, clicks);

        var perUser = Enumerable.Range(0, userCount)
            .Select(u => (Idx: Enumerable.Range(0, n).Where(i => users[i] == u).ToList(), U: u))
            .Where(x => x.Idx.Any(i => clicks[i]) && x.Idx.Any(i => !clicks[i]))
            .Select(x => (Auc: PairAuc(x.Idx, logits, clicks), Count: x.Idx.Count))
            .ToList();
        Assert.That(perUser, Is.Not.Empty);
        Assert.That(r.AucUsers, Is.EqualTo(perUser.Count), "only users with both classes");
        Assert.That(r.AucUser, Is.EqualTo(perUser.Average(x => x.Auc)).Within(1e-12));
        Assert.That(r.GAuc, Is.EqualTo(perUser.Sum(x => x.Auc * x.Count) / perUser.Sum(x => x.Count)).Within(1e-12));
        Assert.That(r.AucGlobal, Is.EqualTo(PairAuc(Enumerable.Range(0, n), logits, clicks)).Within(1e-12));
    }

    [Test]
    public void UsersWithOneClassAreExcludedFromAucButClickOnlyUsersCountForPrecision()
    {
        // user 0: clicks only; user 1: not-clicks only; user 2: both, perfectly ranked.
        int[] users = [0, 0, 1, 1, 2, 2, 2];
        float[] logits = [-5f, -6f, 5f, 6f, 1f, 0f, -1f];
        bool[] clicks = [true, true, false, false, true, false, false];
        var r = Metrics.Compute(users, logits, clicks, [1, 2]);
        Assert.That(r.AucUsers, Is.EqualTo(1));
        Assert.That(r.AucUser, Is.EqualTo(1.0));
        Assert.That(r.ClickUsers, Is.EqualTo(2), "user 1 has no click: excluded from P/R/F");
        // P@1: user 0 → 1, user 2 → 1. P@2: user 0 → 1, user 2 → ½.
        Assert.That(r.Precision, Is.EqualTo(new[] { 1.0, 0.75 }).Within(1e-12));
        // R@1: user 0 → ½, user 2 → 1. R@2: both 1.
        Assert.That(r.Recall, Is.EqualTo(new[] { 0.75, 1.0 }).Within(1e-12));
        // Pooled: the not-clicked 5, 6 outrank every click; 0 and −1 fall below user 2's click at 1 only.
        Assert.That(r.AucGlobal, Is.EqualTo(PairAuc(Enumerable.Range(0, 7), logits, clicks)).Within(1e-12));
    }

    [Test]
    public void PrecisionRecallAtKMatchSortingByHand()
    {
        var (users, logits, clicks) = RandomImpressions(4, 12, 700);
        int[] ks = [1, 3, 10, 40, 100];
        var r = Metrics.Compute(users, logits, clicks, ks);
        for (int q = 0; q < ks.Length; q++)
        {
            int k = ks[q];
            var rows = Enumerable.Range(0, 12)
                .Select(u => Enumerable.Range(0, users.Length).Where(i => users[i] == u).ToList())
                .Where(idx => idx.Any(i => clicks[i]))
                .Select(idx =>
                {
                    // Descending score, ties by impression order (the documented rule).
                    var top = idx.OrderByDescending(i => logits[i]).ThenBy(i => i).Take(k).ToList();
                    double hits = top.Count(i => clicks[i]);
                    double p = hits / k, rc = hits / idx.Count(i => clicks[i]);
                    return (p, rc, f: p + rc > 0 ? 2 * p * rc / (p + rc) : 0);
                }).ToList();
            Assert.That(r.ClickUsers, Is.EqualTo(rows.Count));
            Assert.That(r.Precision[q], Is.EqualTo(rows.Average(x => x.p)).Within(1e-12), $"P@{k}");
            Assert.That(r.Recall[q], Is.EqualTo(rows.Average(x => x.rc)).Within(1e-12), $"R@{k}");
            Assert.That(r.F1[q], Is.EqualTo(rows.Average(x => x.f)).Within(1e-12), $"F@{k}");
        }
    }

    [Test]
    public void TiesAtTheKBoundaryGoToTheEarlierImpression()
    {
        // One user, all scores equal: top-1 is impression 0 whatever its label.
        var a = Metrics.Compute([0, 0, 0], [0f, 0f, 0f], [true, false, false], [1]);
        var b = Metrics.Compute([0, 0, 0], [0f, 0f, 0f], [false, false, true], [1]);
        Assert.That(a.Precision[0], Is.EqualTo(1.0));
        Assert.That(b.Precision[0], Is.EqualTo(0.0));
        Assert.That(a.AucUser, Is.EqualTo(0.5), "all pairs tied: ½ each");
    }

    [Test]
    public void FIsZeroWhenNoClickReachesTopK()
    {
        var r = Metrics.Compute([0, 0, 0], [3f, 2f, 1f], [false, false, true], [1, 2, 3]);
        Assert.That(r.F1[0], Is.Zero);
        Assert.That(r.F1[1], Is.Zero);
        Assert.That(r.F1[2], Is.EqualTo(2 * (1 / 3.0) * 1 / (1 / 3.0 + 1)).Within(1e-12));
        Assert.That(r.AucUser, Is.Zero, "the click ranked below both not-clicks");
    }

    [Test]
    public void LogLossIsMeanBinaryCrossEntropyAndStableForLargeLogits()
    {
        float[] logits = [0f, 2f, -3f, 80f, -80f];
        bool[] clicks = [true, false, false, true, true];
        var r = Metrics.Compute([0, 0, 1, 1, 2], logits, clicks);
        double expected = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double p = 1 / (1 + Math.Exp(-(double)logits[i]));
            // −log(σ(−80)) overflows the naive form's log(p); use log σ(z) = −log(1+e^{−z}).
            expected += clicks[i] ? Math.Log(1 + Math.Exp(-(double)logits[i])) : -Math.Log(1 - p);
        }
        Assert.That(r.LogLoss, Is.EqualTo(expected / logits.Length).Within(1e-9));
        Assert.That(double.IsFinite(r.LogLoss));
    }

    [Test]
    public void RefusesMismatchedLengthsAndBadK()
    {
        Assert.Throws<ArgumentException>(() => Metrics.Compute([0, 1], [0f], [true, false]));
        Assert.Throws<ArgumentException>(() => Metrics.Compute([0], [0f], [true], [0]));
    }
}
