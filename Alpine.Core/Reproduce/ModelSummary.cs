namespace Alpine.Reproduce;

/// <summary>A mean and sample standard deviation over seeds (sd NaN with one seed).</summary>
public readonly record struct Stat(double Mean, double Sd)
{
    public static Stat Of(IEnumerable<double> values)
    {
        double[] x = values.ToArray();
        if (x.Length == 0) return new Stat(double.NaN, double.NaN);
        double mean = x.Average();
        double sd = x.Length > 1 ? Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1)) : double.NaN;
        return new Stat(mean, sd);
    }
}

/// <summary>
/// One model's test results over its seeds at one neighbour count: each metric's mean ± sd, its per-user AUC
/// averaged over seeds, and the paired tests of ALPINE against it over the users both have (null for ALPINE itself
/// or when ALPINE was not run).
/// </summary>
public sealed record ModelSummary(string Model, int[] Seeds, Stat AucUser, Stat AucGlobal, Stat GAuc,
    Stat P50, Stat R50, Stat F50, Stat LogLoss, PairedTestResult? VsAlpine)
{
    /// <summary>Per K of the test metrics (K = 10…100): P@K, R@K, F@K means over seeds.</summary>
    public required int[] Ks { get; init; }
    public required double[] PrecisionAtK { get; init; }
    public required double[] RecallAtK { get; init; }
    public required double[] F1AtK { get; init; }

    /// <summary>
    /// The summaries of each model of <paramref name="models"/> that has results in <paramref name="results"/> at
    /// neighbour count <paramref name="topL"/>, in that order.
    /// </summary>
    public static IReadOnlyList<ModelSummary> Of(IReadOnlyList<RunResult> results, IEnumerable<string> models, int topL)
    {
        RunResult[] At(string m) => [.. results.Where(r => r.Model == m && r.TopL == topL).OrderBy(r => r.Seed)];
        var alpine = UserMeans(At(ModelCatalog.Alpine));
        var list = new List<ModelSummary>();
        foreach (string m in models)
        {
            var runs = At(m);
            if (runs.Length == 0) continue;
            PairedTestResult? vs = null;
            if (m != ModelCatalog.Alpine && alpine.Count > 0)
            {
                var mine = UserMeans(runs);
                int[] common = [.. alpine.Keys.Where(mine.ContainsKey).Order()];
                vs = PairedTest.Compare([.. common.Select(u => alpine[u])], [.. common.Select(u => mine[u])]);
            }
            int k50 = runs[0].Test.IndexOfK(50);
            Stat S(Func<Eval.MetricReport, double> f) => Stat.Of(runs.Select(r => f(r.Test)));
            double[] MeanAt(Func<Eval.MetricReport, double[]> f) =>
                [.. Enumerable.Range(0, runs[0].Test.Ks.Length).Select(q => runs.Average(r => f(r.Test)[q]))];
            list.Add(new ModelSummary(m, [.. runs.Select(r => r.Seed)], S(t => t.AucUser), S(t => t.AucGlobal), S(t => t.GAuc),
                S(t => t.Precision[k50]), S(t => t.Recall[k50]), S(t => t.F1[k50]), S(t => t.LogLoss), vs)
            {
                Ks = runs[0].Test.Ks, PrecisionAtK = MeanAt(t => t.Precision), RecallAtK = MeanAt(t => t.Recall), F1AtK = MeanAt(t => t.F1),
            });
        }
        return list;
    }

    /// <summary>Each user's test AUC averaged over the runs (seeds), for the users every run has one for.</summary>
    private static Dictionary<int, double> UserMeans(RunResult[] runs)
    {
        var sum = new Dictionary<int, (double Sum, int Count)>();
        foreach (var r in runs)
            for (int i = 0; i < r.AucUsers.Length; i++)
            {
                sum.TryGetValue(r.AucUsers[i], out var s);
                sum[r.AucUsers[i]] = (s.Sum + r.UserAuc[i], s.Count + 1);
            }
        return sum.Where(kv => kv.Value.Count == runs.Length).ToDictionary(kv => kv.Key, kv => kv.Value.Sum / runs.Length);
    }
}
