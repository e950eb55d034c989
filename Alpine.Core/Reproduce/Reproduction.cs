using System.Diagnostics;
using Alpine.Baselines;
using Alpine.Data;
using Alpine.Eval;
using Alpine.Prep;

namespace Alpine.Reproduce;

/// <summary>
/// What a reproduction runs: each model of <see cref="Models"/> for seeds 1…<see cref="Seeds"/> on the data as
/// prepared, and, when ALPINE is among them, ALPINE at every graph neighbour count L = 1…<see cref="SweepMax"/>
/// (the paper's Fig. 6).
/// </summary>
public sealed record ReproducePlan(IReadOnlyList<string> Models, int Seeds, int SweepMax, RankingTrainOptions Options)
{
    /// <summary>
    /// The runs, seed by seed (every model's seed 1 first, so an interrupted report already compares them all),
    /// then the sweep; the sweep's L of the prepared data is the main ALPINE run itself.
    /// </summary>
    public IReadOnlyList<RunSpec> Runs(int preparedTopL)
    {
        var runs = new List<RunSpec>();
        for (int s = 1; s <= Seeds; s++)
            foreach (string m in Models) runs.Add(new RunSpec(m, s, preparedTopL));
        if (!Models.Contains(ModelCatalog.Alpine)) return runs;
        for (int s = 1; s <= Seeds; s++)
            for (int l = 1; l <= SweepMax; l++)
                if (l != preparedTopL) runs.Add(new RunSpec(ModelCatalog.Alpine, s, l));
        return runs;
    }

    /// <summary>The options of one run: the plan's, with the run's seed.</summary>
    public RankingTrainOptions OptionsOf(RunSpec run) => Options with { Seed = run.Seed };
}

/// <summary>What <see cref="Reproduction.Run"/> tells as it goes.</summary>
public interface IReproduceProgress
{
    /// <summary>A run found finished in the report folder and kept.</summary>
    void Kept(RunSpec run, RunResult result);
    /// <summary>Run <paramref name="index"/> (0-based) of <paramref name="total"/> starts; the estimated time left for it and all after it, if any run's time is known.</summary>
    void Starting(int index, int total, RunSpec run, TimeSpan? eta);
    /// <summary>A validation round of the run in progress.</summary>
    void Round(RunSpec run, RankingProgress round);
    /// <summary>A run finished and its result was written.</summary>
    void Done(RunSpec run, RunResult result);
}

/// <summary>
/// Trains, scores and keeps the runs of a <see cref="ReproducePlan"/> in a report folder: each run in
/// <c>runs/ID/</c> (its model's files and <see cref="RunResult.FileName"/>, written atomically once the run has
/// finished). A run whose result is there, for the same options and data, is kept and not trained again, so a
/// stopped reproduction continues where it stopped. The test part is scored once per run, after training (SPEC D1).
/// </summary>
public sealed class Reproduction(string reportDir, PreparedData data, ReproducePlan plan, Func<string, string, IRankingModel> create)
{
    public const string RunsFolder = "runs";

    private readonly Dictionary<int, PreparedData> _byTopL = new() { [data.TopL] = data };

    /// <summary>The folder of <paramref name="run"/> in a report.</summary>
    public static string RunDir(string reportDir, RunSpec run) => Path.Combine(reportDir, RunsFolder, run.Id);

    /// <summary>The finished result of <paramref name="run"/> in the report, if it is there for these options and data.</summary>
    public RunResult? Finished(RunSpec run)
    {
        var r = RunResult.TryRead(Path.Combine(RunDir(reportDir, run), RunResult.FileName));
        return r is not null && r.IsFor(run, plan.OptionsOf(run), data.Fingerprint) ? r : null;
    }

    /// <summary>Every run of the plan, finished ones kept; the results in plan order.</summary>
    public IReadOnlyList<RunResult> Run(IReproduceProgress? progress = null, CancellationToken ct = default)
    {
        var runs = plan.Runs(data.TopL);
        var results = new RunResult?[runs.Count];
        for (int i = 0; i < runs.Count; i++)
            if ((results[i] = Finished(runs[i])) is { } kept) progress?.Kept(runs[i], kept);
        for (int i = 0; i < runs.Count; i++)
        {
            if (results[i] is not null) continue;
            ct.ThrowIfCancellationRequested();
            progress?.Starting(i, runs.Count, runs[i], Eta(runs, results, i));
            results[i] = Train(runs[i], progress, ct);
            progress?.Done(runs[i], results[i]!);
        }
        return results!;
    }

    /// <summary>
    /// Fits the model on the run's data, scores the test part, computes its metrics and writes the result. A run
    /// stopped by <paramref name="ct"/> writes no result (a model may keep a checkpoint in its folder).
    /// </summary>
    private RunResult Train(RunSpec run, IReproduceProgress? progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var d = DataAt(run.TopL, ct);
        string dir = RunDir(reportDir, run);
        Directory.CreateDirectory(dir);
        var model = create(run.Model, dir);
        var options = plan.OptionsOf(run);
        var fit = model.Fit(d, options, progress is null ? null : new Rounds(r => progress.Round(run, r)), ct);
        ct.ThrowIfCancellationRequested();

        int[] test = [.. Enumerable.Range(0, d.ImpressionCount).Where(p => d.Part[p] == SplitPart.Test)];
        var logits = new float[test.Length];
        model.Score(d, test, logits);
        // Labels are read only now, after every test logit is written.
        var users = new int[test.Length];
        var clicks = new bool[test.Length];
        for (int i = 0, u = 0; i < test.Length; i++)
        {
            while (d.UserOffsets[u + 1] <= test[i]) u++; // impressions are grouped by user, test positions ascend
            users[i] = u;
            clicks[i] = (d.Flags[test[i]] & InteractionLog.ClickFlag) != 0;
        }
        var aucUsers = new List<int>();
        var userAuc = new List<double>();
        var report = Metrics.Compute(users, logits, clicks, Metrics.DefaultKs, (u, a) => { aucUsers.Add(u); userAuc.Add(a); });
        var result = new RunResult
        {
            Model = run.Model, Seed = run.Seed, TopL = run.TopL, Fingerprint = d.Fingerprint, Options = options with { Threads = 0 },
            BestEpoch = fit.BestEpoch, EpochsTrained = fit.EpochsTrained, BestValidationAucUser = fit.BestValidationAucUser,
            Curve = fit.Curve, Test = report, AucUsers = [.. aucUsers], UserAuc = [.. userAuc], Seconds = clock.Elapsed.TotalSeconds,
        };
        result.Write(Path.Combine(dir, RunResult.FileName));
        return result;
    }

    private PreparedData DataAt(int topL, CancellationToken ct)
    {
        if (!_byTopL.TryGetValue(topL, out var d)) _byTopL[topL] = d = NeighbourData.WithTopL(data, topL, ct);
        return d;
    }

    /// <summary>
    /// Time left for runs <paramref name="from"/>… : each unfinished run costs the mean time of the finished runs of
    /// its model, or of all finished runs when its model has none yet; null before any run has finished.
    /// </summary>
    private static TimeSpan? Eta(IReadOnlyList<RunSpec> runs, RunResult?[] results, int from)
    {
        var done = results.OfType<RunResult>().ToArray();
        if (done.Length == 0) return null;
        double all = done.Average(r => r.Seconds), seconds = 0;
        for (int i = from; i < runs.Count; i++)
        {
            if (results[i] is not null) continue;
            var same = done.Where(r => r.Model == runs[i].Model).ToArray();
            seconds += same.Length > 0 ? same.Average(r => r.Seconds) : all;
        }
        return TimeSpan.FromSeconds(seconds);
    }

    private sealed class Rounds(Action<RankingProgress> report) : IProgress<RankingProgress>
    {
        public void Report(RankingProgress value) => report(value);
    }
}
