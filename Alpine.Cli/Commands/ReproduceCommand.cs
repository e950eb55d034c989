using System.CommandLine;
using System.Globalization;
using Alpine.Baselines;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Reproduce;

namespace Alpine.Cli;

/// <summary>
/// <c>alpine reproduce</c>: the paper's section 4 in one command. Trains and tests every model × seed and the
/// neighbour sweep (<see cref="Reproduction"/>), keeping each finished run in REPORT/runs/ so that the same command
/// continues after Ctrl-C, then writes the tables and figures (<see cref="ReportTables"/>, <see cref="ReportFigures"/>).
/// </summary>
public sealed class ReproduceCommand : ICommand
{
    public int Order => 55;

    /// <summary>How long each run may train.</summary>
    internal enum Budget { Quick, Standard, Full }

    /// <summary>
    /// The training settings of a budget. Full: to convergence (patience 3 validation rounds, min gain 0.001, as
    /// <c>alpine train</c>) under a cap of 20 epochs, which only bounds a run that keeps creeping up. Standard (the
    /// default): the same rule under a cap of 4 epochs (patience 2), so that one seed of everything on <c>small</c>
    /// takes about 13 minutes on 2 idle cores (docs/REPRODUCTION.md); most runs keep their epoch-4 round there, so a
    /// standard report ranks models after equal, short training. Quick: 2 epochs, a smoke run of the pipeline (with
    /// <c>--quick</c>, on the first <see cref="QuickUsers"/> users), not a measurement.
    /// </summary>
    internal static RankingTrainOptions OptionsOf(Budget budget, int threads) => budget switch
    {
        Budget.Quick => new RankingTrainOptions { Epochs = 2, Patience = 1, Threads = threads },
        Budget.Standard => new RankingTrainOptions { Epochs = StandardEpochs, Patience = 2, MinDelta = 0.001f, Threads = threads },
        _ => new RankingTrainOptions { Epochs = 20, Patience = 3, MinDelta = 0.001f, Threads = threads },
    };

    /// <summary>The epoch cap of the standard budget.</summary>
    internal const int StandardEpochs = 4;

    /// <summary>The neighbour counts of the paper's Fig. 6 (L = 1…5); <c>--quick</c> runs L = 1…2.</summary>
    internal const int DefaultSweep = 5, QuickSweep = 2;

    /// <summary>The users <c>--quick</c> trains and tests on unless <c>--users</c> says otherwise.</summary>
    internal const int QuickUsers = 100;

    private readonly Option<string> _data = Opt.Text("data", "the data folder (prepared with defaults first when it has no fresh cache)", required: true);
    private readonly Option<string> _out = Opt.Text("out", "the report folder: runs/, tables and figures; an existing one is continued", required: true, helpName: "REPORT");
    private readonly Option<int> _seeds = Opt.Int("seeds", "seeds 1…N of every model", 1, min: 1, max: 100);
    private readonly Option<string> _models = Opt.Text("models", $"the models, separated by commas [default: all: {string.Join(",", ModelCatalog.Names)}]", helpName: "M1,M2,...");
    private readonly Choice<Budget> _budget = Opt.Choice("budget",
        $"standard: each run to convergence or {StandardEpochs} epochs (patience 2), one seed of everything on small in ~13 min on 2 idle cores (docs/REPRODUCTION.md); " +
        "full: to convergence or 20 epochs (patience 3), the converged comparison, several hours; quick: 2 epochs, a smoke run",
        Budget.Standard, ("standard", Budget.Standard), ("full", Budget.Full), ("quick", Budget.Quick));
    private readonly Option<bool> _quick = Opt.Flag("quick", $"a smoke run: --budget quick, 1 seed, L = 1…{QuickSweep} and the first {QuickUsers} users, unless given");
    private readonly Option<int> _sweep = Opt.Int("sweep", "ALPINE at graph neighbours L = 1…N (the paper's Fig. 6)", DefaultSweep, min: 1, max: 64);
    private readonly Option<int> _threads = Opt.Int("threads", "CPU threads, 0 = all cores", 0, min: 0);
    private readonly Option<int> _users = Opt.Int("users", $"train and test on the first N users only, 0 = all (--quick: {QuickUsers} unless given)", 0, min: 0);

    public Command Definition => new("reproduce", "every model × seed, the neighbour sweep, Table 2/3-style tables and figures 5–7 into REPORT; continues a stopped REPORT")
    {
        _data, _out, _seeds, _models, _budget, _quick, _sweep, _users, _threads,
    };

    public int Run(ParseResult p)
    {
        string dataDir = p.GetValue(_data)!, report = p.GetValue(_out)!;
        bool quick = p.GetValue(_quick);
        var models = p.GetValue(_models) is { } list ? ModelCatalog.Parse(list) : ModelCatalog.Names;
        var budget = quick && !p.Given(_budget) ? Budget.Quick : _budget.Get(p);
        int seeds = quick && !p.Given(_seeds) ? 1 : p.GetValue(_seeds);
        int sweep = quick && !p.Given(_sweep) ? QuickSweep : p.GetValue(_sweep);
        int users = quick && !p.Given(_users) ? QuickUsers : p.GetValue(_users);
        var plan = new ReproducePlan(models, seeds, sweep, OptionsOf(budget, p.GetValue(_threads)));
        ReportFolder.RequireUsable(report);

        var data = CtrlC.Run(ct => LoadData(dataDir, ct));
        int allUsers = data.UserCount;
        if (users > 0) data = UserSubset.FirstUsers(data, users);
        using var writer = ReportFolder.Open(report);
        var reproduction = new Reproduction(report, data, plan, ModelCatalog.Create);
        var runs = plan.Runs(data.TopL);
        string subset = data.UserCount < allUsers ? $", the first {data.UserCount:N0} of {allUsers:N0} users" : "";
        Console.WriteLine($"reproduce: {models.Count} models × {seeds} seed(s) on {dataDir} ({data.Profile}, top-L {data.TopL}{subset})" +
            (models.Contains(ModelCatalog.Alpine) ? $", ALPINE at L = 1…{sweep}" : "") +
            $": {runs.Count} runs, budget {budget.ToString().ToLowerInvariant()} (≤ {plan.Options.Epochs} epochs) → {report}");
        IReadOnlyList<RunResult> results;
        try { results = CtrlC.Run(ct => reproduction.Run(new Lines(), ct)); }
        catch (OperationCanceledException)
        {
            int finished = runs.Count(r => reproduction.Finished(r) is not null);
            Console.Error.WriteLine($"alpine reproduce: stopped; {finished} of {runs.Count} runs are finished in {Path.Combine(report, Reproduction.RunsFolder)}; " +
                "the same command continues (an ALPINE run from its last checkpoint)");
            return CtrlC.ExitCode;
        }

        var written = ReportWriter.Write(report, dataDir, data, plan, results);
        Console.WriteLine($"wrote {string.Join(", ", written)} in {report}");
        return 0;
    }

    /// <summary>The prepared data: the cache when fresh (whatever its options), else prepared with the defaults (the data folder's usual cache).</summary>
    private static PreparedData LoadData(string dataDir, CancellationToken ct)
    {
        if (PreparedData.IsCacheFresh(dataDir)) return PreparedData.Load(dataDir);
        Console.WriteLine($"preparing {dataDir} with the defaults (its cache is kept for later runs)");
        using var writer = FolderLock.Acquire(dataDir, "data folder");
        return PreparedData.LoadOrPrepare(dataDir, new PrepareOptions(), null, ct);
    }

    /// <summary>A line per run and per validation round, with the ETA of what is left.</summary>
    private sealed class Lines : IReproduceProgress
    {
        public void Kept(RunSpec run, RunResult result) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  kept {run.Id}: test AUC_user {result.Test.AucUser:F4} (finished earlier)"));

        public void Starting(int index, int total, RunSpec run, TimeSpan? eta)
        {
            string left = eta is { } e ? $", about {Duration(e)} left" : "";
            Console.WriteLine($"[{index + 1}/{total}] {run.Id}: {ModelCatalog.Display(run.Model)}, seed {run.Seed}, L {run.TopL}{left}");
        }

        public void Round(RunSpec run, RankingProgress r) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  epoch {r.Epoch}/{r.EpochCap}: train loss {r.TrainLoss:F4}, validation AUC_user {r.ValidationAucUser:F4}"));

        public void Done(RunSpec run, RunResult result) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  done in {Duration(TimeSpan.FromSeconds(result.Seconds))}: best validation round epoch {result.BestEpoch} of {result.EpochsTrained}, " +
                $"test AUC_user {result.Test.AucUser:F4}"));

        private static string Duration(TimeSpan t) =>
            t.TotalSeconds < 120 ? $"{t.TotalSeconds:0} s" : t.TotalMinutes < 120 ? $"{t.TotalMinutes:0} min" : $"{t.TotalHours:0.#} h";
    }
}
