using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Alpine.Data.Synthetic;
using Profile = Alpine.Data.Profile;
using Spectre.Console;

namespace Alpine.Cli.Commands;

/// <summary><c>alpine generate</c>: writes the embedded synthetic micro-video log (SPEC D17) as a native data folder.</summary>
public sealed class GenerateCommand : ICommand
{
    public int Order => 10;

    private readonly Choice<SyntheticPreset> _preset = Opt.Choice("preset", "the log's size",
        SyntheticPreset.Small, ("tiny", SyntheticPreset.Tiny), ("small", SyntheticPreset.Small), ("paper", SyntheticPreset.Paper));
    private readonly Choice<Profile> _profile = Opt.Choice("profile", "Kuaishou-like (likes, follows) or THACIL-like (categories)",
        Profile.Kuaishou, ("kuaishou", Profile.Kuaishou), ("thacil", Profile.Thacil));
    private readonly Option<int> _seed = Opt.Int("seed", "the generator's seed", 1, min: 0);
    private readonly Option<string> _out = Opt.Text("out", "the data folder to write", required: true);
    private readonly Option<bool> _force = Opt.Flag("force", "replace an existing data folder");

    public Command Definition => new("generate", "the synthetic micro-video log (SPEC D17) as a native data folder") { _preset, _profile, _seed, _out, _force };

    public int Run(ParseResult p)
    {
        var preset = _preset.Get(p);
        var profile = _profile.Get(p);
        int seed = p.GetValue(_seed);
        string outDir = p.GetValue(_out)!;
        bool force = p.GetValue(_force);

        using var writer = Alpine.Data.FolderLock.Acquire(outDir, "data folder", createParent: true);
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
