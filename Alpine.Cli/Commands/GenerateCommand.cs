using System.Diagnostics;
using System.Globalization;
using Alpine.Data.Synthetic;
using Profile = Alpine.Data.Profile;
using Spectre.Console;

namespace Alpine.Cli.Commands;

/// <summary><c>alpine generate</c>: writes the embedded synthetic micro-video log (SPEC D17) as a native data folder.</summary>
public sealed class GenerateCommand : ICommand
{
    public string Name => "generate";
    public string Usage => "[--preset tiny|small|paper] [--profile kuaishou|thacil] [--seed N] --out DIR [--force]   the synthetic log (SPEC D17; defaults small, kuaishou, 1)";
    public int Order => 10;

    public int Run(Options o)
    {
        var preset = o.Enum("preset", SyntheticPreset.Small,
            ("tiny", SyntheticPreset.Tiny), ("small", SyntheticPreset.Small), ("paper", SyntheticPreset.Paper));
        var profile = o.Enum("profile", Profile.Kuaishou, ("kuaishou", Profile.Kuaishou), ("thacil", Profile.Thacil));
        int seed = o.Int("seed", 1, min: 0);
        string outDir = o.Required("out", "the data folder to write");
        bool force = o.Flag("force");
        o.EnsureAllUsed();

        var clock = Stopwatch.StartNew();
        var s = CtrlC.Run(ct => Console.IsOutputRedirected
            ? SyntheticLog.Generate(outDir, preset, profile, seed, new PlainProgress(), ct, force)
            : GenerateWithBar(outDir, preset, profile, seed, force, ct));
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "wrote {0}: {1:N0} users, {2:N0} items ({3}-d{4}), {5:N0} impressions, {6:N0} clicks ({7:P1}), {8:N0} likes, {9:N0} follows in {10:F1} s",
            s.Folder, s.Users, s.Items, s.FeatureDim, s.Categories > 0 ? $", {s.Categories} categories" : "",
            s.Impressions, s.Clicks, (double)s.Clicks / s.Impressions, s.Likes, s.Follows, clock.Elapsed.TotalSeconds));
        return 0;
    }

    private static SyntheticSummary GenerateWithBar(string outDir, SyntheticPreset preset, Profile profile, int seed, bool force, CancellationToken ct)
    {
        SyntheticSummary? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var progress = new Reporter<(string Stage, double Fraction)>(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var task)) tasks[p.Stage] = task = ctx.AddTask(p.Stage, maxValue: 1);
                    task.Value = p.Fraction;
                });
                result = SyntheticLog.Generate(outDir, preset, profile, seed, progress, ct, force);
            });
        return result!;
    }

    /// <summary>Redirected output: one line per stage when it starts, nothing per chunk.</summary>
    private sealed class PlainProgress : IProgress<(string Stage, double Fraction)>
    {
        private string? _stage;
        public void Report((string Stage, double Fraction) p)
        {
            if (p.Stage == _stage) return;
            _stage = p.Stage;
            Console.WriteLine($"{p.Stage}...");
        }
    }

    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
