using System.CommandLine;
using System.Globalization;
using Alpine.Data;
using Alpine.Eval;
using Alpine.Prep;
using Alpine.Train;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary>
/// <c>alpine evaluate</c>: scores the Test part with a trained model (SPEC D14, D15), prints the metrics and
/// writes <c>metrics_test.json</c> beside the model. Refuses a model trained on another data set.
/// </summary>
public sealed class EvaluateCommand : ICommand
{
    public const string MetricsFileName = RunFolder.TestMetricsFileName;

    public int Order => 50;

    private readonly Option<string> _data = Opt.Text("data", "the prepared data folder", required: true);
    private readonly Option<string> _model = Opt.Text("model", "a run folder or a model file", required: true, helpName: "RUN|FILE");
    private readonly Option<string> _k = Opt.Text("k", $"the K of P/R/F@K, whole numbers ≥ 1 [default: {string.Join(",", Metrics.DefaultKs)}]", helpName: "K1,K2,...");
    private readonly ComputeOptions _compute = new();

    public Command Definition
    {
        get
        {
            var c = new Command("evaluate", "test-part AUC_user, AUC_global, gAUC, P/R/F@K, LogLoss; writes metrics_test.json beside the model") { _data, _model, _k };
            foreach (var o in _compute.All) c.Add(o);
            return c;
        }
    }

    public int Run(ParseResult p)
    {
        string dataDir = p.GetValue(_data)!, model = p.GetValue(_model)!;
        int[] ks = ParseKs(p.GetValue(_k));
        var compute = _compute.Parse(p);

        var data = PreparedData.Load(dataDir);
        Evaluate(data, dataDir, model, ks, compute);
        return 0;
    }

    /// <summary>
    /// Scores the Test part, prints the metrics, then writes <c>metrics_test.json</c> atomically beside the model
    /// file: printed first, so a run folder that cannot be written still shows them (the failed write is then
    /// one line and exit 2).
    /// </summary>
    internal static MetricReport Evaluate(PreparedData data, string dataDir, string model, int[] ks, Compute compute)
    {
        var (path, file) = ReadModel(data, dataDir, model);
        using var backend = BackendFactory.Create(file.Config, data, file.Parameters, compute);
        var batcher = new Batcher(data, file.Config, file.Mode);
        var report = Evaluator.Evaluate(backend, batcher, SplitPart.Test, new TrainOptions().BatchSize, ks,
            maxCellSteps: TrainCommand.BudgetCellSteps(0, file.Config, file.Parameters.Length));
        Print(report, "test");
        AtomicFile.WriteAllText(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, MetricsFileName), MetricsJson.Write(report,
        [
            new("part", "test"), new("model", Path.GetFullPath(path)),
            new("variant", file.Config.Variant.ToString().ToLowerInvariant()), new("fingerprint", data.Fingerprint),
        ]));
        return report;
    }

    /// <summary>Reads the model of a run folder (or a model file) and refuses one trained on other data (the one check evaluate, rank and demo share).</summary>
    internal static (string Path, ModelFile File) ReadModel(PreparedData data, string dataDir, string model)
    {
        string path = Directory.Exists(model) ? Path.Combine(model, RunFolder.ModelFileName) : model;
        if (!File.Exists(path)) throw new UsageException($"no model at {path} (train one with 'alpine train')");
        var file = ModelFile.Read(path);
        file.RequireMatches(data, path, dataDir);
        return (path, file);
    }

    internal static int[] ParseKs(string? s)
    {
        if (s is null) return Metrics.DefaultKs;
        var ks = new List<int>();
        foreach (string part in s.Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) || k < 1)
                throw new UsageException($"option --k expects whole numbers of at least 1 separated by commas, got '{s}'");
            ks.Add(k);
        }
        return [.. ks.Distinct().Order()];
    }

    /// <summary>The AUCs and LogLoss on one line each, then P/R/F@K as a table.</summary>
    internal static void Print(MetricReport r, string part)
    {
        var head = new Table().Border(TableBorder.Rounded).Title($"{part} part: {r.Impressions:N0} impressions of {r.Users:N0} users");
        head.AddColumn("metric").AddColumn(new TableColumn("value").RightAligned()).AddColumn("over");
        head.AddRow("AUC_user (Eq. 9)", F(r.AucUser), $"{r.AucUsers:N0} users with ≥1 click and ≥1 not-click");
        head.AddRow("AUC_global", F(r.AucGlobal), "all impressions pooled");
        head.AddRow("gAUC", F(r.GAuc), $"the same {r.AucUsers:N0} users, weighted by impressions");
        head.AddRow("LogLoss", F(r.LogLoss), "all impressions");
        AnsiConsole.Write(head);
        var ks = new Table().Border(TableBorder.Rounded).Title($"top-K over {r.ClickUsers:N0} users with ≥1 click");
        ks.AddColumn(new TableColumn("K").RightAligned()).AddColumn(new TableColumn("P@K").RightAligned())
          .AddColumn(new TableColumn("R@K").RightAligned()).AddColumn(new TableColumn("F@K").RightAligned());
        for (int q = 0; q < r.Ks.Length; q++) ks.AddRow(r.Ks[q].ToString(CultureInfo.InvariantCulture), F(r.Precision[q]), F(r.Recall[q]), F(r.F1[q]));
        AnsiConsole.Write(ks);
    }

    internal static string F(double x) => double.IsFinite(x) ? x.ToString("F4", CultureInfo.InvariantCulture) : "n/a";
}
