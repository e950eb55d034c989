using MathNet.Numerics.Distributions;

namespace Alpine.Reproduce;

/// <summary>One paired comparison: how many pairs, the mean of a − b, and the two-sided p-values of both tests.</summary>
public readonly record struct PairedTestResult(int Pairs, double MeanDifference, double TTestP, double WilcoxonP);

/// <summary>
/// Paired significance tests over per-user AUCs (the paper's Table 2 and 3 mark ALPINE against each model with a
/// t-test): the paired Student t-test, and the Wilcoxon signed-rank test, which does not assume the differences are
/// normal (per-user AUCs are bounded and often skewed). Both two-sided.
/// </summary>
public static class PairedTest
{
    /// <summary>Wilcoxon's exact null distribution is used up to this many non-zero differences without ties (as SciPy's default).</summary>
    public const int ExactWilcoxonMax = 50;

    /// <summary>Both tests on the pairs (a_i, b_i); fewer than two pairs give NaN p-values.</summary>
    public static PairedTestResult Compare(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"paired samples need one length, got {a.Length} and {b.Length}");
        var d = new double[a.Length];
        for (int i = 0; i < d.Length; i++) d[i] = a[i] - b[i];
        return new PairedTestResult(d.Length, d.Length > 0 ? d.Average() : double.NaN, TTest(d), Wilcoxon(d));
    }

    /// <summary>
    /// The paired t-test's two-sided p of the differences <paramref name="d"/>: t = mean / (sd / √n), n − 1 degrees
    /// of freedom. Differences that are all equal give 1 when they are 0 and 0 otherwise (sd 0).
    /// </summary>
    public static double TTest(ReadOnlySpan<double> d)
    {
        int n = d.Length;
        if (n < 2) return double.NaN;
        double mean = 0;
        foreach (double x in d) mean += x;
        mean /= n;
        double ss = 0;
        foreach (double x in d) ss += (x - mean) * (x - mean);
        double se = Math.Sqrt(ss / (n - 1) / n);
        if (se == 0) return mean == 0 ? 1 : 0;
        double t = mean / se;
        return 2 * StudentT.CDF(0, 1, n - 1, -Math.Abs(t));
    }

    /// <summary>
    /// The Wilcoxon signed-rank test's two-sided p of the differences <paramref name="d"/>: zero differences are
    /// dropped (Wilcoxon's rule), |d| ranked with mid-ranks for ties, W⁺ the rank sum of the positive ones. Exact
    /// (the null distribution of W⁺ counted over all 2ⁿ sign patterns) up to <see cref="ExactWilcoxonMax"/>
    /// differences without ties; otherwise the normal approximation with the tie-corrected variance
    /// n(n+1)(2n+1)/24 − Σ(t³ − t)/48, without continuity correction. No non-zero difference gives 1.
    /// </summary>
    public static double Wilcoxon(ReadOnlySpan<double> d)
    {
        var nonZero = new List<double>();
        foreach (double x in d) if (x != 0) nonZero.Add(x);
        int n = nonZero.Count;
        if (n == 0) return d.Length == 0 ? double.NaN : 1;
        double[] abs = nonZero.Select(Math.Abs).ToArray();
        int[] order = Enumerable.Range(0, n).ToArray();
        Array.Sort((double[])abs.Clone(), order);
        var rank = new double[n];
        double tieTerm = 0;
        for (int a = 0; a < n;)
        {
            int b = a + 1;
            while (b < n && abs[order[b]] == abs[order[a]]) b++;
            double mid = (a + 1 + b) / 2.0; // ranks a+1 … b, their mean
            for (int j = a; j < b; j++) rank[order[j]] = mid;
            double t = b - a;
            tieTerm += t * t * t - t;
            a = b;
        }
        double wPlus = 0;
        for (int i = 0; i < n; i++) if (nonZero[i] > 0) wPlus += rank[i];

        if (tieTerm == 0 && n <= ExactWilcoxonMax) return ExactP((int)wPlus, n);
        double mean = n * (n + 1) / 4.0;
        double variance = n * (n + 1) * (2.0 * n + 1) / 24 - tieTerm / 48;
        if (variance <= 0) return 1;
        double z = (wPlus - mean) / Math.Sqrt(variance);
        return Math.Min(1, 2 * Normal.CDF(0, 1, -Math.Abs(z)));
    }

    /// <summary>
    /// Two-sided exact p of W⁺ = <paramref name="w"/> for ranks 1…n: count[s] = sign patterns whose positive ranks sum
    /// to s (a subset-sum count, rank by rank), then twice the smaller tail, at most 1.
    /// </summary>
    private static double ExactP(int w, int n)
    {
        int max = n * (n + 1) / 2;
        var count = new double[max + 1];
        count[0] = 1;
        for (int r = 1; r <= n; r++)
            for (int s = max; s >= r; s--) count[s] += count[s - r];
        double total = Math.Pow(2, n), lower = 0, upper = 0;
        for (int s = 0; s <= w; s++) lower += count[s];
        for (int s = w; s <= max; s++) upper += count[s];
        return Math.Min(1, 2 * Math.Min(lower, upper) / total);
    }
}
