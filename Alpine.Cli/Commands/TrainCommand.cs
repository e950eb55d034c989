using System.Globalization;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary>
/// <c>alpine train</c>: trains on the Train part of a prepared data folder, selects on Validation (SPEC D1,
/// D11–D13), writes RUN/model.alp, RUN/checkpoint.alp, RUN/train_log.csv and RUN/metrics.json.
/// </summary>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Usage => "--data DIR --out RUN [--variant alpine|u|m|um|umg] [--mode shared|window] [--epochs N] [--patience N] [--min-delta X] [--eval-every N] " +
        "[--batch N] [--piece N|random] [--piece-order chronological|scattered] [--lr X] [--seed N] [--hidden N] [--window N] [--attention bilinear|scaled-dot] [--cstar neighbor|carried] " +
        "[--user-matrix mean|sum] [--alphas a1,a2,a3] [--threads N] [--device cpu|gpu|auto] [--resume] [--force]   train, select on validation";
    public int Order => 40;

    /// <summary>
    /// What one training run needs besides the data: the model's options (profile, visual dims and top-L come
    /// from the data) and the trainer's settings.
    /// </summary>
    internal sealed record Request(string DataDir, string RunDir, ModelConfig Model, TrainOptions Options, Compute Compute);

    /// <summary>What <c>--resume</c> may change: the stopping rule; null keeps the checkpoint's.</summary>
    private sealed record StoppingRule(int? Epochs, int? Patience, float? MinDelta);

    public int Run(Options o)
    {
        string dataDir = o.Required("data", "the prepared data folder");
        string runDir = o.Required("out", "the run folder to write");
        bool resume = o.Flag("resume"), force = o.Flag("force");
        var defaults = new TrainOptions();
        // On --resume only the stopping rule may change; everything else comes from the checkpoint.
        string[] fixedOnResume = ["variant", "mode", "eval-every", "batch", "piece", "piece-order", "lr", "seed", "hidden", "window", "attention", "cstar", "user-matrix", "alphas"];
        var given = fixedOnResume.Where(n => o.String(n) is not null).ToArray();
        var model = ParseModel(o);
        var options = defaults with
        {
            Mode = o.Enum("mode", BatchMode.SharedPrefix, ("shared", BatchMode.SharedPrefix), ("window", BatchMode.Window)),
            Epochs = o.Int("epochs", defaults.Epochs, min: 1),
            Patience = o.Int("patience", defaults.Patience, min: 1),
            MinDelta = o.Float("min-delta", defaults.MinDelta, min: 0f),
            EvalEvery = o.Int("eval-every", defaults.EvalEvery, min: 0),
            BatchSize = o.Int("batch", defaults.BatchSize, min: 1, max: TrainOptions.MaxBatchSize),
            // SPEC "Batch composition": pieces of one are targets drawn at random across all users.
            PieceSize = "random".Equals(o.String("piece"), StringComparison.OrdinalIgnoreCase) ? 1
                : o.Int("piece", defaults.PieceSize, min: 1, max: TrainOptions.MaxBatchSize),
            PieceOrder = o.Enum("piece-order", defaults.PieceOrder, ("chronological", PieceOrder.Chronological), ("scattered", PieceOrder.Scattered)),
            Adam = new AdamSettings(LearningRate: o.Float("lr", defaults.Adam.LearningRate, min: 0f, exclusiveMin: true)),
            Seed = o.Int("seed", defaults.Seed, min: 0),
        };
        var compute = Compute.Parse(o);
        bool deviceGiven = o.String("device") is not null;
        bool epochsGiven = o.String("epochs") is not null, patienceGiven = o.String("patience") is not null, minDeltaGiven = o.String("min-delta") is not null;
        o.EnsureAllUsed();
        if (resume && force) throw new UsageException("--resume continues a run and --force replaces it; give one");
        if (resume && given.Length > 0)
            throw new UsageException($"--{given[0]} cannot change when resuming (the checkpoint fixes it); only --epochs, --patience and --min-delta can");

        var data = PreparedData.Load(dataDir);
        int code = resume
            ? Resume(data, dataDir, runDir, new StoppingRule(epochsGiven ? options.Epochs : null, patienceGiven ? options.Patience : null,
                minDeltaGiven ? options.MinDelta : null), compute, deviceGiven)
            : Train(data, new Request(dataDir, runDir, model, options, compute), force);
        return code;
    }

    /// <summary>The model options (SPEC D5, D7, D9, D10 and their alternatives); unset ones keep SPEC's defaults.</summary>
    private static ModelConfig ParseModel(Options o)
    {
        var d = new ModelConfig();
        return d with
        {
            Variant = o.Enum("variant", d.Variant,
                ("alpine", Variant.Alpine), ("u", Variant.U), ("m", Variant.M), ("um", Variant.UM), ("umg", Variant.UMG)),
            Hidden = o.Int("hidden", d.Hidden, min: 1, max: 4096),
            Window = o.Int("window", d.Window, min: 1, max: 1 << 20),
            Attention = o.Enum("attention", d.Attention, ("bilinear", AttentionKind.Bilinear), ("scaled-dot", AttentionKind.ScaledDot)),
            CStar = o.Enum("cstar", d.CStar, ("neighbor", CStarReading.Neighbor), ("carried", CStarReading.Carried)),
            UserInit = o.Enum("user-matrix", d.UserInit, ("mean", UserInit.Mean), ("sum", UserInit.Sum)),
            Alphas = ParseAlphas(o.String("alphas")),
        };
    }

    /// <summary><c>--alphas a1,a2,a3</c>: the fusion weights (SPEC D10), three finite numbers ≥ 0.</summary>
    internal static float[]? ParseAlphas(string? s)
    {
        if (s is null) return null;
        string[] parts = s.Split(',');
        var a = new float[3];
        bool ok = parts.Length == 3;
        for (int i = 0; ok && i < 3; i++)
            ok = float.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out a[i]) && float.IsFinite(a[i]) && a[i] >= 0;
        return ok ? a : throw new UsageException($"option --alphas expects three numbers ≥ 0 separated by commas (α1,α2,α3), got '{s}'");
    }

    /// <summary>
    /// A fresh run. An existing non-empty run folder is refused unless <paramref name="force"/>, and even then
    /// unless it holds only run files; it is replaced only at the new run's first checkpoint (it trains in a
    /// staging folder until then), so a run that fails early leaves the old one, or no folder, behind.
    /// </summary>
    internal static int Train(PreparedData data, Request r, bool force)
    {
        r.Options.Validate();
        var config = r.Model with { Profile = data.Profile, VisualDim = data.Items.VisualDim, TopL = data.TopL };
        config.Validate();
        RunFolder.RequireReplaceable(r.RunDir, force);
        using var backend = BackendFactory.Create(config, data, BackendFactory.InitialParameters(config, data, r.Options.Seed), r.Compute);
        string staging = AtomicFile.CreateStagingFolder(r.RunDir);
        try
        {
            var trainer = new Trainer(backend, data, staging, r.Options.Mode, publishTo: r.RunDir);
            return Loop(trainer, config, new TrainingProgress { Options = r.Options, Device = BackendFactory.DeviceOf(backend) }, r.DataDir, r.RunDir);
        }
        finally
        {
            // Published at the first checkpoint; still here only when the run failed before it.
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Continues a run from its checkpoint, on the device it trained on unless <c>--device</c> says otherwise
    /// (then with a warning: the continuation is not bit-identical to an uninterrupted run).
    /// </summary>
    private static int Resume(PreparedData data, string dataDir, string runDir, StoppingRule stop, Compute compute, bool deviceGiven)
    {
        string path = Path.Combine(runDir, Trainer.CheckpointFileName);
        if (!File.Exists(path)) throw new UsageException($"--resume needs {path}, which does not exist");
        var ck = ModelFile.Read(path);
        ck.RequireMatches(data, path, dataDir);
        var state = ck.Checkpoint ?? throw new DataFormatException(path, "is a model file, not a checkpoint");
        var o = state.Progress.Options;
        var progress = state.Progress with
        {
            Options = o with { Epochs = stop.Epochs ?? o.Epochs, Patience = stop.Patience ?? o.Patience, MinDelta = stop.MinDelta ?? o.MinDelta },
        };
        if (!deviceGiven && progress.Device is "cpu" or "gpu") compute = compute with { Device = progress.Device == "gpu" ? Device.Gpu : Device.Cpu };
        using var backend = BackendFactory.Create(ck.Config, data, ck.Parameters, compute);
        string device = BackendFactory.DeviceOf(backend);
        if (device != progress.Device)
            Console.Error.WriteLine($"alpine train: warning: the run trained on {progress.Device} and continues on {device}; " +
                $"the result is not bit-identical to an uninterrupted run (--device {progress.Device} keeps it so)");
        progress = progress with { Device = device };
        backend.LoadOptimizerState(state.M, state.V);
        AnsiConsole.MarkupLine($"resuming {Markup.Escape(runDir)} at epoch {progress.Epoch + 1}, batch {progress.BatchInEpoch + 1} (step {progress.Step})");
        return Loop(new Trainer(backend, data, runDir, o.Mode), ck.Config, progress, dataDir, runDir);
    }

    /// <summary>
    /// Says what it trains, runs the trainer with Ctrl-C wired to a batch-boundary stop, draws the curves and
    /// reports where it ended.
    /// </summary>
    private static int Loop(Trainer trainer, ModelConfig config, TrainingProgress start, string dataDir, string runDir)
    {
        var o = start.Options;
        var plan = trainer.Describe(o);
        string composition = o.PieceSize == 1 ? "random targets" : $"{o.PieceOrder.ToString().ToLowerInvariant()} pieces of ≤ {o.PieceSize}";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{config.Variant.ToString().ToLowerInvariant()}, {o.Mode}, H {config.HiddenSize}, D {config.ItemDim}, W {config.Window}; " +
            $"fit {plan.FitTargets:N0} targets of {plan.FitUsers:N0} users, validation {plan.ValidationTargets:N0} targets of {plan.ValidationUsers:N0} users; " +
            $"{plan.BatchesPerEpoch:N0} batches an epoch of ≤ {o.BatchSize:N0} targets, {composition}, {plan.UsersPerBatch:F1} users a batch; " +
            $"≤ {o.Epochs} epochs, patience {o.Patience} rounds, min gain {o.MinDelta:G3}"));
        var result = CtrlC.Run(ct => WithProgress(trainer, start, ct));
        Curves.TryWrite(Path.GetDirectoryName(trainer.ModelPath)!);

        var p = result.Progress;
        if (result.Cancelled)
        {
            Console.Error.WriteLine($"alpine train: stopped at epoch {p.Epoch + 1}, batch {p.BatchInEpoch} (step {p.Step}); checkpoint {trainer.CheckpointPath}");
            Console.Error.WriteLine($"continue with: alpine train --data {dataDir} --out {runDir} --resume");
            return 130;
        }
        string why = p.Epoch < p.Options.Epochs ? $"early stop: no better validation AUC_user for {p.SinceBest} validation rounds" : $"{p.Epoch} epochs";
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"done ({why}); best validation AUC_user [bold]{p.BestAucUser:F4}[/] at epoch {p.BestEpoch} → {Markup.Escape(trainer.ModelPath)}"));
        return 0;
    }

    /// <summary>A Spectre progress bar (epochs, loss, targets/s, ETA) when interactive; otherwise a line per tenth of an epoch and per validation round.</summary>
    private static TrainResult WithProgress(Trainer trainer, TrainingProgress start, CancellationToken ct)
    {
        int epochs = start.Options.Epochs;
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            TrainResult result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: epochs);
                    task.Value = start.Epoch;
                    result = trainer.Run(start, new Reporter(r =>
                    {
                        if (r.Validation is not null) { AnsiConsole.MarkupLine(RoundLine(r)); return; }
                        task.Value = r.Epoch + (double)r.Batch / r.Batches;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"epoch {r.Epoch + 1}/{r.Epochs} loss {r.Loss:F4} {r.TargetsPerSecond:F0} targets/s");
                    }), ct);
                    task.Value = task.MaxValue;
                });
            return result;
        }
        // Redirected output: a line per tenth of an epoch and one per validation round.
        return trainer.Run(start, new Reporter(r =>
        {
            if (r.Validation is not null) Console.WriteLine(RoundLine(r));
            else if (r.Batch % Math.Max(1, r.Batches / 10) == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  epoch {r.Epoch + 1}/{r.Epochs} batch {r.Batch}/{r.Batches} loss {r.Loss:F4} {r.TargetsPerSecond:F0} targets/s"));
        }), ct);
    }

    /// <summary>A validation round: "epoch 2/5" at an epoch's end, "epoch 2/5 batch 7/40" within one (--eval-every).</summary>
    private static string RoundLine(TrainProgressReport r)
    {
        var v = r.Validation!;
        int k = Array.IndexOf(v.Ks, 50);
        string within = r.Batch < r.Batches ? $" batch {r.Batch}/{r.Batches}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch + 1}/{r.Epochs}{within} step {r.Step}: validation AUC_user {v.AucUser:F4} AUC_global {v.AucGlobal:F4} gAUC {v.GAuc:F4} " +
            $"LogLoss {v.LogLoss:F4} P@50 {v.Precision[k]:F4} R@50 {v.Recall[k]:F4} F@50 {v.F1[k]:F4}");
    }

    private sealed class Reporter(Action<TrainProgressReport> f) : IProgress<TrainProgressReport>
    {
        public void Report(TrainProgressReport value) => f(value);
    }
}
