using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Alpine.Data.Synthetic;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary>
/// <c>alpine demo</c>: the README's main command. Generates the <c>small</c> synthetic log (kuaishou profile,
/// seed 1; SPEC D17), prepares it, trains ALPINE (selecting on validation), evaluates on test and prints a
/// Table-2-style row beside the paper's Dataset I row. Reuses the data (and its prepared cache) when present.
/// </summary>
public sealed class DemoCommand : ICommand
{
    /// <summary>
    /// The demo's own cap, so it stays within about two minutes on 2 cores (docs/BENCHMARKS.md, "`alpine demo` end to
    /// end"); on `small` the best validation round of a run to convergence falls at epoch 8 (docs/REPRODUCTION.md).
    /// </summary>
    public const int DefaultEpochs = 8;

    /// <summary>The paper's Table 2, ALPINE on Dataset I: AUC, P@50, R@50, F@50.</summary>
    private static readonly double[] PaperRow = [0.739, 0.331, 0.436, 0.376];

    public int Order => 1;

    private readonly Option<string> _out = Opt.Text("out", "the demo folder (data/ and run/ inside) [default: alpine-demo]");
    private readonly Option<int> _epochs = Opt.Int("epochs", "epochs at most", DefaultEpochs, min: 1);
    private readonly Option<bool> _force = Opt.Flag("force", "replace the previous demo run in OUT/run (the data is reused either way)");
    private readonly ComputeOptions _compute = new();

    public Command Definition
    {
        get
        {
            var c = new Command("demo", "generate small → prepare → train → evaluate, beside the paper's Table 2 row") { _out, _epochs, _force };
            foreach (var o in _compute.All) c.Add(o);
            return c;
        }
    }

    public int Run(ParseResult p)
    {
        string outDir = p.GetValue(_out) ?? "alpine-demo";
        int epochs = p.GetValue(_epochs);
        var compute = _compute.Parse(p);
        if (File.Exists(outDir)) throw new Data.UsageException($"--out '{outDir}' is a file; expected a folder");

        bool force = p.GetValue(_force);
        var clock = Stopwatch.StartNew();
        string dataDir = Path.Combine(outDir, "data"), runDir = Path.Combine(outDir, "run");
        Data.AtomicFile.RequireWritable(outDir);
        // Before any work: a previous demo's run is the user's result, replaced only when asked.
        if (!force && Directory.Exists(runDir) && Directory.EnumerateFileSystemEntries(runDir).Any())
            throw new Data.UsageException($"{runDir} holds a previous demo run; replace it with --force or give another --out");
        // Ctrl-C stops generate and prepare at their next check; their temporary folder / cache file is removed.
        var data = CtrlC.Run(ct =>
        {
            using var writer = Data.FolderLock.Acquire(dataDir, "data folder", createParent: true);
            if (!File.Exists(Path.Combine(dataDir, Data.NativeFormat.InteractionsFile)) || !File.Exists(Path.Combine(dataDir, Data.NativeFormat.ItemsFile)))
            {
                AnsiConsole.MarkupLine($"[bold]1/4 generate[/] small, kuaishou, seed 1 → {Markup.Escape(dataDir)}");
                SyntheticLog.Generate(dataDir, SyntheticPreset.Small, Data.Profile.Kuaishou, 1, new Stages(), ct, force: true);
            }
            else AnsiConsole.MarkupLine($"[bold]1/4 generate[/] reusing {Markup.Escape(dataDir)}");
            AnsiConsole.MarkupLine("[bold]2/4 prepare[/] (cached after the first run)");
            return PreparedData.LoadOrPrepare(dataDir, new PrepareOptions(), new Stages(), ct);
        });

        AnsiConsole.MarkupLine($"[bold]3/4 train[/] ALPINE, {epochs} epochs at most → {Markup.Escape(runDir)}");
        var options = new TrainOptions { Epochs = epochs };
        int code = TrainCommand.Train(data, new TrainCommand.Request(dataDir, runDir, new ModelConfig(), options, compute), force);
        if (code != 0) return code;

        AnsiConsole.MarkupLine("[bold]4/4 evaluate[/] on the test part");
        var r = EvaluateCommand.Evaluate(data, dataDir, runDir, Eval.Metrics.DefaultKs, compute);
        int k = r.IndexOfK(50);
        var table = new Table().Border(TableBorder.Rounded).Title("Table 2 style: AUC_user and top-50");
        table.AddColumn("").AddColumn(new TableColumn("AUC").RightAligned()).AddColumn(new TableColumn("P@50").RightAligned())
            .AddColumn(new TableColumn("R@50").RightAligned()).AddColumn(new TableColumn("F@50").RightAligned());
        table.AddRow("ALPINE, this run (synthetic small)", EvaluateCommand.F(r.AucUser), EvaluateCommand.F(r.Precision[k]), EvaluateCommand.F(r.Recall[k]), EvaluateCommand.F(r.F1[k]));
        table.AddRow(["ALPINE, paper (Dataset I)", .. PaperRow.Select(x => x.ToString("F3", CultureInfo.InvariantCulture))]);
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]The data here is synthetic (SPEC D17), not Kuaishou's: the rows show the pipeline works, they are not a reproduction.[/]");
        AnsiConsole.MarkupLine($"total {clock.Elapsed.TotalMinutes:F1} min");
        return 0;
    }

    /// <summary>One line per stage of generate / prepare as it starts (their own commands draw bars).</summary>
    private sealed class Stages : IProgress<(string Stage, double Fraction)>
    {
        private string? _stage;
        public void Report((string Stage, double Fraction) p)
        {
            lock (this)
            {
                if (p.Stage == _stage) return;
                _stage = p.Stage;
                Console.WriteLine($"  {p.Stage}...");
            }
        }
    }
}
