using System.CommandLine;
using System.Globalization;
using Alpine.Data;
using Alpine.Distributed;
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
    public int Order => 40;

    private static readonly TrainOptions Defaults = new();
    private static readonly ModelConfig ModelDefaults = new();

    private readonly Option<string> _data = Opt.Text("data", "the prepared data folder", required: true);
    private readonly Option<string> _out = Opt.Text("out", "the run folder to write", required: true, helpName: "RUN");
    private readonly Option<bool> _resume = Opt.Flag("resume", "continue the run in --out from its checkpoint (only --epochs, --patience and --min-delta may change)");
    private readonly Option<bool> _force = Opt.Flag("force", "replace the run in --out (kept until the new run's first checkpoint)");
    private readonly Choice<Variant> _variant = Opt.Choice("variant", "the model: ALPINE or a Table 3 ablation",
        ModelDefaults.Variant, ("alpine", Variant.Alpine), ("u", Variant.U), ("m", Variant.M), ("um", Variant.UM), ("umg", Variant.UMG));
    private readonly Choice<BatchMode> _mode = Opt.Choice("mode", "shared: each user's sequences encoded once per batch; window: the paper's per-target windows (SPEC D12)",
        Defaults.Mode, ("shared", BatchMode.SharedPrefix), ("window", BatchMode.Window));
    private readonly Option<int> _epochs = Opt.Int("epochs", "epochs at most", Defaults.Epochs, min: 1);
    private readonly Option<int> _patience = Opt.Int("patience", "stop after this many validation rounds without a better AUC_user", Defaults.Patience, min: 1);
    private readonly Option<float> _minDelta = Opt.Float("min-delta", "a round is better only if it gains more than this validation AUC_user", Defaults.MinDelta, "a finite number ≥ 0", x => x >= 0);
    private readonly Option<int> _evalEvery = Opt.Int("eval-every", "validate every N steps (0: at each epoch's end)", Defaults.EvalEvery, min: 0);
    private readonly Option<int> _batch = Opt.Int("batch", "targets per batch", Defaults.BatchSize, min: 1, max: TrainOptions.MaxBatchSize);
    private readonly Option<int> _piece = Opt.IntOrWord("piece", "a user's targets that share a batch, in pieces of N; random: targets drawn at random across users (SPEC \"Batch composition\")",
        Defaults.PieceSize, ("random", 1), min: 1, max: TrainOptions.MaxBatchSize);
    private readonly Choice<PieceOrder> _pieceOrder = Opt.Choice("piece-order", "scattered: a piece's targets drawn across the user's history; chronological: consecutive targets",
        Defaults.PieceOrder, ("scattered", PieceOrder.Scattered), ("chronological", PieceOrder.Chronological));
    private readonly Option<float> _lr = Opt.Float("lr", "Adam's learning rate", Defaults.Adam.LearningRate, "a finite number > 0", x => x > 0);
    private readonly Option<int> _seed = Opt.Int("seed", "the seed of the initial weights and the batch order", Defaults.Seed, min: 0);
    private readonly Option<int> _hidden = Opt.Int("hidden", "LSTM hidden size (SPEC \"Hidden size\"); at most 1024: the init alone of larger recurrent matrices takes minutes", ModelDefaults.Hidden, min: 1, max: MaxHidden);

    /// <summary>16× SPEC's H: the stacked [4H × H] orthonormalisation is O(H³) (seconds at 1024, many minutes at 4096) before the first batch.</summary>
    internal const int MaxHidden = 1024;
    private readonly Option<int> _window = Opt.Int("window", "W, the most recent states a target attends over", ModelDefaults.Window, min: 1, max: 1 << 20);
    private readonly Choice<AttentionKind> _attention = Opt.Choice("attention", "the attention score (SPEC D7)",
        ModelDefaults.Attention, ("bilinear", AttentionKind.Bilinear), ("scaled-dot", AttentionKind.ScaledDot));
    private readonly Choice<CStarReading> _cstar = Opt.Choice("cstar", "the graph cell's c* (SPEC D5)",
        ModelDefaults.CStar, ("neighbor", CStarReading.Neighbor), ("carried", CStarReading.Carried));
    private readonly Choice<UserInit> _userMatrix = Opt.Choice("user-matrix", "the user matrix from likes and follows (SPEC D9)",
        ModelDefaults.UserInit, ("mean", UserInit.Mean), ("sum", UserInit.Sum));
    private readonly Option<string> _alphas = Opt.Text("alphas", "the fusion weights α1,α2,α3, three numbers ≥ 0 (SPEC D10) [default: the variant's]", helpName: "A1,A2,A3");
    private readonly Option<float> _l2 = Opt.Float("l2", "λ of the L2 penalty on weight and recurrent matrices, λ·½·Σw² (SPEC \"Loss\"); biases and embeddings are not penalised",
        ModelDefaults.L2, "a finite number ≥ 0", x => x >= 0);
    private readonly Option<bool> _distributed = Opt.Flag("distributed",
        "data-parallel: each rank of mpirun trains a share of every batch; rank 0 writes the run (README \"More than one machine\")");
    private readonly Option<float> _memoryGb = Opt.Float("memory-gb",
        "GiB of LSTM activations one batch part may hold; a batch over it runs in chunks with the same gradient, a validation batch with the same logits (0: a sixteenth of this machine's memory, shared among its ranks)",
        0, "a finite number ≥ 0", x => x >= 0);
    private readonly ComputeOptions _compute = new();

    public Command Definition
    {
        get
        {
            var c = new Command("train", "train on the Train part, select on Validation; writes RUN/model.alp, checkpoint.alp, train_log.csv, metrics.json")
            {
                _data, _out, _variant, _mode, _epochs, _patience, _minDelta, _evalEvery, _batch, _piece, _pieceOrder, _lr, _seed, _hidden, _window,
                _attention, _cstar, _userMatrix, _alphas, _l2, _resume, _force, _distributed, _memoryGb,
            };
            foreach (var o in _compute.All) c.Add(o);
            return c;
        }
    }

    /// <summary>
    /// What one training run needs besides the data: the model's options (profile, visual dims and top-L come
    /// from the data) and the trainer's settings.
    /// </summary>
    internal sealed record Request(string DataDir, string RunDir, ModelConfig Model, TrainOptions Options, Compute Compute, Split? Split = null);

    /// <summary>How batches are split: the ranks training together and the activation budget in GiB (0: from the machine).</summary>
    internal sealed record Split(IRankGroup Group, float MemoryGb);

    /// <summary>What <c>--resume</c> may change: the stopping rule; null keeps the checkpoint's.</summary>
    private sealed record StoppingRule(int? Epochs, int? Patience, float? MinDelta);

    public int Run(ParseResult p)
    {
        float memoryGb = p.GetValue(_memoryGb);
        if (!p.GetValue(_distributed)) return Run(p, new Split(new OneProcess(), memoryGb));
        if (!MpiGroup.UnderMpirun)
            throw new UsageException("--distributed trains across the ranks of Open MPI's mpirun: mpirun -np N alpine train --distributed …");
        var group = MpiGroup.Start();
        if (group.Rank > 0) Quiet();
        int code;
        try
        {
            code = Run(p, new Split(group, memoryGb));
        }
        catch (Exception e)
        {
            // The other ranks wait in the next gather: only an abort ends them (MPI_Finalize would wait for them).
            string what = e is UsageException or DataFormatException or IOException or UnauthorizedAccessException
                ? e.Message.ReplaceLineEndings(" ") : $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
            Console.Error.WriteLine($"alpine train: rank {group.Rank} of {group.Size}: {what}; stopping every rank");
            Console.Error.Flush();
            group.Abort(e is OperationCanceledException ? CtrlC.ExitCode : 2);
            throw;
        }
        group.Dispose();
        return code;
    }

    /// <summary>Ranks other than 0 print nothing but errors: rank 0 speaks for the run.</summary>
    private static void Quiet()
    {
        Console.SetOut(TextWriter.Null);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
    }

    private int Run(ParseResult p, Split split)
    {
        string dataDir = p.GetValue(_data)!, runDir = p.GetValue(_out)!;
        bool resume = p.GetValue(_resume), force = p.GetValue(_force);
        // On --resume only the stopping rule may change; everything else comes from the checkpoint.
        Option[] fixedOnResume = [_variant, _mode, _evalEvery, _batch, _piece, _pieceOrder, _lr, _seed, _hidden, _window, _attention, _cstar, _userMatrix, _alphas, _l2];
        var given = fixedOnResume.Where(p.Given).ToArray();
        var model = ModelDefaults with
        {
            Variant = _variant.Get(p), Hidden = p.GetValue(_hidden), Window = p.GetValue(_window),
            Attention = _attention.Get(p), CStar = _cstar.Get(p), UserInit = _userMatrix.Get(p),
            Alphas = ParseAlphas(p.GetValue(_alphas)), L2 = p.GetValue(_l2),
        };
        var options = Defaults with
        {
            Mode = _mode.Get(p), Epochs = p.GetValue(_epochs), Patience = p.GetValue(_patience), MinDelta = p.GetValue(_minDelta),
            EvalEvery = p.GetValue(_evalEvery), BatchSize = p.GetValue(_batch), PieceSize = p.GetValue(_piece), PieceOrder = _pieceOrder.Get(p),
            Adam = new AdamSettings(LearningRate: p.GetValue(_lr)), Seed = p.GetValue(_seed),
        };
        var compute = _compute.Parse(p);
        if (resume && force) throw new UsageException("--resume continues a run and --force replaces it; give one");
        if (resume && given.Length > 0)
            throw new UsageException($"{given[0].Name} cannot change when resuming (the checkpoint fixes it); only --epochs, --patience and --min-delta can");

        var data = PreparedData.Load(dataDir);
        int code = resume
            ? Resume(data, dataDir, runDir, new StoppingRule(p.Given(_epochs) ? options.Epochs : null, p.Given(_patience) ? options.Patience : null,
                p.Given(_minDelta) ? options.MinDelta : null), compute, p.Given(_compute.Device), split)
            : Train(data, new Request(dataDir, runDir, model, options, compute, split), force);
        return code;
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
        var split = r.Split ?? new Split(new OneProcess(), 0);
        // Rank 0 owns the run folder; the other ranks only train (and read a checkpoint to resume).
        using var run = split.Group.Rank == 0 ? RunFolder.ForFreshRun(r.RunDir, force) : RunFolder.At(r.RunDir);
        long parameters = ModelLayout.Create(config, data.UserCount, data.CategoryCount).Size;
        RequireMemory(parameters, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        // Before the first batch, which can take minutes for a large --hidden: what is being built.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {parameters:N0} parameters ({parameters * 4 * sizeof(float) / 1048576.0:F0} MiB with gradients and Adam's state)"));
        using var backend = BackendFactory.Create(config, data, BackendFactory.InitialParameters(config, data, r.Options.Seed), r.Compute);
        if (split.Group.Rank == 0) run.Stage();
        var trainer = Splitting(new Trainer(backend, data, run, r.Options.Mode), backend, split, parameters);
        trainer.Parallel!.RequireSameStart(r.DataDir, data.Fingerprint, 0);
        var start = new TrainingProgress { Options = r.Options, Device = RankTag.Tag(BackendFactory.DeviceOf(backend), split.Group.Size) };
        return Loop(trainer, config, start, r.DataDir, r.RunDir);
    }

    /// <summary>
    /// The trainer with its batches split across <paramref name="split"/>'s ranks and cut to its memory budget:
    /// by default a sixteenth of this machine's memory, less the model's buffers, over the ranks on this machine: the
    /// process's peak RSS was measured at 2–3× the budget plus the prepared data (Window on `small`: 1.9 GB at 1 GiB;
    /// on the `paper` preset 6.0 GB at 1.5 GiB and 9.5 GB at 3), so the process stays near a third of the machine.
    /// </summary>
    private static Trainer Splitting(Trainer trainer, Alpine.Model.IAlpineBackend backend, Split split, long parameters)
    {
        trainer.Parallel = new DataParallel(backend, trainer.Batcher, split.Group, BudgetCellSteps(split.MemoryGb, backend.Config, parameters));
        return trainer;
    }

    /// <summary>
    /// The memory budget in LSTM cell-steps (<see cref="BatchShares.BytesPerCellStep"/>) of <paramref name="memoryGb"/>
    /// GiB, or for 0 the default described at <see cref="Splitting"/>; <c>evaluate</c> scores under the same default.
    /// </summary>
    internal static long BudgetCellSteps(float memoryGb, Alpine.Model.ModelConfig config, long parameters)
    {
        long bytes = (long)(memoryGb * 1073741824.0);
        if (bytes == 0)
        {
            int local = int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int n) && n > 0 ? n : 1;
            bytes = Math.Max(0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / local - parameters * 4 * sizeof(float)) / 16;
        }
        return Math.Max(1, bytes / BatchShares.BytesPerCellStep(config));
    }

    /// <summary>
    /// Refuses a model whose parameters, gradients and Adam's two moments (4 floats per parameter, before any
    /// activations) do not fit in <paramref name="availableBytes"/>: it would only run out of memory, slowly.
    /// </summary>
    internal static void RequireMemory(long parameters, long availableBytes)
    {
        long need = parameters * 4 * sizeof(float);
        if (need > availableBytes)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"the model has {parameters:N0} parameters: with gradients and Adam's state that is {need / 1073741824.0:F1} GiB, " +
                $"more than the {availableBytes / 1073741824.0:F1} GiB available; try a smaller --hidden"));
    }

    /// <summary>
    /// Continues a run from its checkpoint, on the device it trained on unless <c>--device</c> says otherwise
    /// (then with a warning: the continuation is not bit-identical to an uninterrupted run).
    /// </summary>
    private static int Resume(PreparedData data, string dataDir, string runDir, StoppingRule stop, Compute compute, bool deviceGiven, Split split)
    {
        using var run = split.Group.Rank == 0 ? RunFolder.ForResume(runDir) : RunFolder.At(runDir);
        string path = run.CheckpointPath;
        var ck = ModelFile.Read(path);
        ck.RequireMatches(data, path, dataDir);
        var state = ck.Checkpoint ?? throw new DataFormatException(path, "is a model file, not a checkpoint");
        var o = state.Progress.Options;
        var (trainedOn, ranks) = RankTag.Parse(state.Progress.Device);
        if (ranks != split.Group.Size)
            throw new UsageException(ranks == 1
                ? $"{path} was trained by one process; resume it without mpirun and --distributed (this is {split.Group.Size} ranks): the rank count decides how each batch's gradient rounds"
                : $"{path} was trained by {ranks} ranks; resume it with mpirun -np {ranks} … --distributed (this is {split.Group.Size}): the rank count decides how each batch's gradient rounds");
        var progress = state.Progress with
        {
            Device = trainedOn,
            Options = o with { Epochs = stop.Epochs ?? o.Epochs, Patience = stop.Patience ?? o.Patience, MinDelta = stop.MinDelta ?? o.MinDelta },
        };
        if (!deviceGiven && progress.Device is "cpu" or "gpu") compute = compute with { Device = progress.Device == "gpu" ? Device.Gpu : Device.Cpu };
        using var backend = BackendFactory.Create(ck.Config, data, ck.Parameters, compute);
        string device = BackendFactory.DeviceOf(backend);
        if (device != progress.Device)
            Console.Error.WriteLine($"alpine train: warning: the run trained on {progress.Device} and continues on {device}; " +
                $"the result is not bit-identical to an uninterrupted run (--device {progress.Device} keeps it so)");
        progress = progress with { Device = RankTag.Tag(device, split.Group.Size) };
        backend.LoadOptimizerState(state.M, state.V);
        AnsiConsole.MarkupLine($"resuming {Markup.Escape(runDir)} at epoch {progress.Epoch + 1}, batch {progress.BatchInEpoch + 1} (step {progress.Step})");
        var trainer = Splitting(new Trainer(backend, data, run, o.Mode), backend, split, ck.Parameters.Length);
        trainer.Parallel!.RequireSameStart(dataDir, data.Fingerprint, progress.Step);
        return Loop(trainer, ck.Config, progress, dataDir, runDir);
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
        // Under mpirun, where each rank's step time went (every rank gathers; rank 0 prints).
        if (trainer.Parallel is { Group: not OneProcess } parallel && parallel.Times.Summary(parallel.Group, parallel.GradientFloats) is { } times)
            Console.WriteLine(times);

        var p = result.Progress;
        if (result.KeptPrevious)
        {
            Console.Error.WriteLine($"alpine train: stopped at step {p.Step}, before the first validation round; {runDir} keeps the previous run (nothing to resume)");
            return CtrlC.ExitCode;
        }
        if (trainer.Parallel?.Writes ?? true) Curves.TryWrite(Path.GetDirectoryName(trainer.ModelPath)!);
        if (result.Cancelled)
        {
            Console.Error.WriteLine($"alpine train: stopped at epoch {p.Epoch + 1}, batch {p.BatchInEpoch} (step {p.Step}); checkpoint {trainer.CheckpointPath}");
            Console.Error.WriteLine($"continue with: alpine train --data {dataDir} --out {runDir} --resume");
            return CtrlC.ExitCode;
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
        // Redirected output: the first batch (with the time it took: a slow configuration shows at once), then a
        // line per tenth of an epoch or per half minute, whichever comes first, and one per validation round.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var sinceLine = System.Diagnostics.Stopwatch.StartNew();
        int batches = 0;
        return trainer.Run(start, new Reporter(r =>
        {
            if (r.Validation is not null) { Console.WriteLine(RoundLine(r)); return; }
            bool first = ++batches == 1;
            if (!first && r.Batch % Math.Max(1, r.Batches / 10) != 0 && sinceLine.Elapsed.TotalSeconds < 30) return;
            string line = string.Create(CultureInfo.InvariantCulture,
                $"  epoch {r.Epoch + 1}/{r.Epochs} batch {r.Batch}/{r.Batches} loss {r.Loss:F4} {r.TargetsPerSecond:F0} targets/s");
            if (first)
            {
                double seconds = clock.Elapsed.TotalSeconds;
                line += string.Create(CultureInfo.InvariantCulture, $" (first batch {seconds:0.###} s; an epoch ~{Duration(seconds * r.Batches)})");
            }
            Console.WriteLine(line);
            sinceLine.Restart();
        }), ct);
    }

    private static string Duration(double seconds) =>
        seconds < 120 ? $"{seconds:0} s" : seconds < 7200 ? $"{seconds / 60:0} min" : $"{seconds / 3600:0.#} h";

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
