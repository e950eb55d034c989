using System.CommandLine;
using System.Diagnostics;
using Alpine.Prep;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary><c>alpine prepare</c>: split, PCA, sequences and graph edges of a data folder, cached beside it.</summary>
public sealed class PrepareCommand : ICommand
{
    public int Order => 30;

    private static readonly PrepareOptions Defaults = new();
    private readonly Option<string> _data = Opt.Text("data", "the data folder to prepare", required: true);
    private readonly Option<int> _topL = Opt.Int("top-l", "graph edges per item: its L most similar predecessors (SPEC D3)", Defaults.TopL, 1, 64);
    private readonly Choice<EdgeMetric> _metric = Opt.Choice("metric", "the similarity of the graph edges",
        Defaults.Metric, ("euclidean", EdgeMetric.Euclidean), ("cosine", EdgeMetric.Cosine));
    private readonly Option<int> _seed = Opt.Int("seed", "the seed of the PCA", Defaults.Seed);
    private readonly Choice<PcaEigen> _pca = Opt.Choice("pca", "the PCA's eigenvectors: randomized, subspace iteration; full, MathNet's whole EVD (SPEC D3; slower)",
        Defaults.Eigen, ("full", PcaEigen.Full), ("randomized", PcaEigen.Randomized));
    private readonly Choice<FeatureScale> _scale = Opt.Choice("scale", "one factor on the PCA vectors: unit, divided by their RMS over the fitted items; none, SPEC D3's vectors at the features' own scale",
        Defaults.Scale, ("none", FeatureScale.None), ("unit", FeatureScale.Unit));

    public Command Definition =>
        new("prepare", "split, PCA to 64-d, sequences, graph edges; cached in DIR/prepared.alpc") { _data, _topL, _metric, _seed, _pca, _scale };

    public int Run(ParseResult p)
    {
        string dir = p.GetValue(_data)!;
        var options = new PrepareOptions { TopL = p.GetValue(_topL), Metric = _metric.Get(p), Seed = p.GetValue(_seed), Eigen = _pca.Get(p), Scale = _scale.Get(p) };

        using var writer = Alpine.Data.FolderLock.Acquire(dir, "data folder");
        var total = Stopwatch.StartNew();
        var data = CtrlC.Run(ct => WithProgress((p, t) => PreparedData.Prepare(dir, options, p, t), ct));
        var size = new FileInfo(PreparedData.CachePath(dir)).Length;
        // The same counts as `stats`: users (dense ids, all with impressions) and, when some rows are never shown, items with impressions.
        int shown = DatasetStats.Of(data).Items;
        string items = shown == data.ItemCount ? $"{data.ItemCount:N0}" : $"{data.ItemCount:N0}[/] feature rows, [bold]{shown:N0}";
        AnsiConsole.MarkupLine($"prepared [bold]{data.UserCount:N0}[/] users, [bold]{items}[/] items ({data.Items.VisualDim}-d), " +
            $"[bold]{data.ImpressionCount:N0}[/] impressions ({data.ClickItem.Length:N0} clicks), profile {data.Profile}, " +
            $"top-L {data.TopL} {data.Metric} in {total.Elapsed.TotalSeconds:F1} s");
        AnsiConsole.MarkupLine($"cache: {Markup.Escape(PreparedData.CachePath(dir))} ({size / 1048576.0:F1} MiB)");
        return 0;
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a Spectre progress bar per stage when the console is interactive,
    /// else prints one line per finished stage with its time.
    /// </summary>
    internal static T WithProgress<T>(Func<IProgress<(string Stage, double Fraction)>, CancellationToken, T> work, CancellationToken ct)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            T result = default!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    // Stages come one after another: finish the current task once when the next appears
                    // (StopTask stamps the stop time, so calling it again would stretch the elapsed time).
                    // Reports come from worker threads; touching Spectre at most every 100 ms keeps them from
                    // queueing behind its renderer.
                    ProgressTask? current = null;
                    var gate = new object();
                    var sinceUpdate = Stopwatch.StartNew();
                    result = work(new StageReport(r =>
                    {
                        lock (gate)
                        {
                            if (current?.Description != r.Stage)
                            {
                                if (current is not null) { current.Value = current.MaxValue; current.StopTask(); }
                                current = ctx.AddTask(r.Stage, maxValue: 1.0);
                            }
                            else if (sinceUpdate.ElapsedMilliseconds < 100) return;
                            current.Value = Math.Clamp(r.Fraction, 0, 1);
                            sinceUpdate.Restart();
                        }
                    }), ct);
                    lock (gate) if (current is not null) { current.Value = current.MaxValue; current.StopTask(); }
                });
            return result;
        }

        // Wall and CPU time per stage: on a shared machine the CPU time is the steadier number.
        string? current = null;
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var lines = new object();
        void Finish()
        {
            var now = Process.GetCurrentProcess().TotalProcessorTime;
            Console.WriteLine($"  {current,-10} {clock.Elapsed.TotalSeconds,7:F2} s  (cpu {(now - cpu).TotalSeconds:F2} s)");
            cpu = now;
            clock.Restart();
        }
        var value = work(new StageReport(r =>
        {
            lock (lines)
            {
                if (r.Stage == current) return;
                if (current is not null) Finish();
                else { clock.Restart(); cpu = Process.GetCurrentProcess().TotalProcessorTime; }
                current = r.Stage;
            }
        }), ct);
        if (current is not null) Finish();
        return value;
    }

    private sealed class StageReport(Action<(string Stage, double Fraction)> report) : IProgress<(string Stage, double Fraction)>
    {
        public void Report((string Stage, double Fraction) value) => report(value);
    }
}
