using System.Diagnostics;
using System.Globalization;
using Alpine.Data;
using Alpine.Distributed;
using Alpine.Eval;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Train;

/// <summary>
/// What the trainer reports after each batch and each validation round: the epoch in progress (0-based) and the
/// batches of it done, the step, the mean loss and targets/s since the last round, and the round's metrics.
/// </summary>
public readonly record struct TrainProgressReport(
    int Epoch, int Epochs, int Batch, int Batches, long Step, double Loss, double TargetsPerSecond, MetricReport? Validation);

/// <summary>
/// How a run ended: the position reached, the best validation metrics, whether Ctrl-C stopped it, and whether it
/// stopped before its first model and so left the run it was to replace as it was (<see cref="KeptPrevious"/>).
/// </summary>
public sealed record TrainResult(TrainingProgress Progress, bool Cancelled, bool KeptPrevious = false);

/// <summary>What a run trains on, as <c>alpine train</c> prints it before the first batch (epoch 0's plan).</summary>
public sealed record PlanSummary(int FitTargets, int FitUsers, int ValidationTargets, int ValidationUsers, int BatchesPerEpoch, double UsersPerBatch);

/// <summary>
/// The training loop (SPEC D11–D13): epochs of shuffled batches, Adam, validation rounds on the Validation part
/// (after every epoch, or every N steps: <see cref="IsRound"/>), early stopping on validation AUC_user after
/// <c>Patience</c> rounds without gain, the best model kept. It reads the Train and Validation parts only; test
/// labels are never touched (SPEC D1).
/// Files in the run folder: <c>model.alp</c> (the best model so far), <c>metrics.json</c> (its validation
/// metrics), <c>checkpoint.alp</c> (after every validation round, and where Ctrl-C stopped), <c>train_log.csv</c>
/// (a row per round, <see cref="TrainLog"/>). A fresh run may train in a staging folder that its
/// <see cref="RunFolder"/> publishes at the first checkpoint.
/// </summary>
public sealed class Trainer
{
    private readonly IAlpineBackend _backend;
    private readonly PreparedData _data;
    private readonly Batcher _batcher;
    private readonly BatchMode _mode;
    private readonly RunFolder _run;
    private long _checkpointStep = -1;

    /// <summary>
    /// Where batches are split (Alpine.Distributed): across the ranks of a data-parallel run, and into chunks under
    /// the memory budget. Null: every batch whole in this process. Only the writing rank writes the run's files.
    /// </summary>
    public DataParallel? Parallel { get; set; }
    private bool Writes => Parallel?.Writes ?? true;

    /// <summary>
    /// The loss guard: a batch's mean loss above this many times a reference stops the run as diverged. The reference
    /// is the run's first batch loss in this process, taken as at least 1 and at most 5: a BCE mean of 20 to 100 per
    /// target means logits of that size, far past anything training from a sane start reaches.
    /// </summary>
    public const float ExplodeFactor = 20f;

    /// <summary>
    /// Writes the run's files into <paramref name="run"/>; a staged one is published at the first checkpoint, and
    /// the run goes on there.
    /// </summary>
    public Trainer(IAlpineBackend backend, PreparedData data, RunFolder run, BatchMode mode)
    {
        _backend = backend; _data = data; _run = run; _mode = mode;
        _batcher = new Batcher(data, backend.Config, mode);
    }

    /// <summary>The fit and validation parts and epoch 0's batches under <paramref name="o"/>.</summary>
    public PlanSummary Describe(TrainOptions o)
    {
        int[] train = _batcher.PositionsOf(SplitPart.Train), validation = _batcher.PositionsOf(SplitPart.Validation);
        int Users(int[] positions) => positions.Select(p => _batcher.UserOf[p]).Distinct().Count();
        int[][] plan = BatchPlan.ForEpoch(train, _batcher.UserOf, o.BatchSize, o.PieceSize, o.Seed, epoch: 0, o.PieceOrder);
        return new PlanSummary(train.Length, Users(train), validation.Length, Users(validation), plan.Length,
            plan.Length == 0 ? 0 : plan.Average(Users));
    }

    /// <summary>Writes the run's files into the existing folder <paramref name="runDir"/>.</summary>
    public Trainer(IAlpineBackend backend, PreparedData data, string runDir, BatchMode mode)
        : this(backend, data, RunFolder.At(runDir), mode) { }

    /// <summary>The trainer's batch builder (what <see cref="Parallel"/> builds its parts with).</summary>
    public Batcher Batcher => _batcher;
    public string ModelPath => _run.ModelPath;
    public string CheckpointPath => _run.CheckpointPath;

    /// <summary>
    /// Whether a validation round follows step <paramref name="step"/> (1-based), the last of epoch
    /// <paramref name="epoch"/> (1-based) when <paramref name="epochEnd"/>. EvalEvery 0: at every epoch's end.
    /// N &gt; 0: at steps N, 2N, … counted across epochs, so rounds stay evenly spaced and patience counts equal
    /// stretches of training; plus at the end of the last epoch, so the final parameters are validated too. The
    /// rule depends only on the step, the epoch and the epoch count, all in a checkpoint: a resumed run meets the
    /// rounds an uninterrupted one would (unless <c>--epochs</c> changed: then "the last epoch" moved).
    /// </summary>
    public static bool IsRound(TrainOptions o, long step, int epoch, bool epochEnd) =>
        o.EvalEvery == 0 ? epochEnd : step % o.EvalEvery == 0 || (epochEnd && epoch == o.Epochs);

    /// <summary>
    /// Trains from <paramref name="start"/> (a fresh <see cref="TrainingProgress"/>, or a checkpoint's, whose
    /// parameters and Adam moments the backend already holds) until the epoch count or early stopping ends it,
    /// or <paramref name="ct"/> is cancelled: then it stops at a batch boundary and checkpoints there.
    /// </summary>
    public TrainResult Run(TrainingProgress start, IProgress<TrainProgressReport>? progress = null, CancellationToken ct = default)
    {
        var o = start.Options;
        o.Validate();
        if (o.Mode != _mode) throw new ArgumentException($"the options say {o.Mode}, the trainer was built for {_mode}", nameof(start));
        int[] train = _batcher.PositionsOf(SplitPart.Train);
        if (train.Length == 0) throw new UsageException("the data set has no train impressions");
        if (Writes) TrainLog.StartAt(_run.LogPath, start.Step);

        var p = start;
        if (start.Step > 0) _checkpointStep = start.Step; // resumed: its checkpoint is the last good one
        float? lossLimit = null;
        var logits = new float[Math.Min(o.BatchSize, train.Length)];
        // Throughput and seconds of the round's training in this process (a resumed round counts from the resume).
        var clock = Stopwatch.StartNew();
        long targetsAtClock = p.RoundTargets;
        while (!p.EarlyStopped && p.Epoch < o.Epochs)
        {
            int[][] plan = BatchPlan.ForEpoch(train, _batcher.UserOf, o.BatchSize, o.PieceSize, o.Seed, p.Epoch, o.PieceOrder);
            for (int b = p.BatchInEpoch; b < plan.Length && !p.EarlyStopped; b++)
            {
                if (Parallel?.OnAnyRank(ct.IsCancellationRequested) ?? ct.IsCancellationRequested)
                {
                    // Stopped before the first validation round of a run that replaces another (--force).
                    if (_run.WouldLosePrevious)
                        return new TrainResult(p, Cancelled: true, KeptPrevious: true);
                    WriteCheckpoint(p);
                    return new TrainResult(p, Cancelled: true);
                }
                var (loss, cellSteps) = Parallel?.ForwardBackward(plan[b]) ?? ForwardBackward(plan[b], ref logits);
                int targets = plan[b].Length;
                lossLimit ??= ExplodeFactor * Math.Clamp(float.IsFinite(loss) ? loss : 1f, 1f, 5f);
                if (!float.IsFinite(loss) || loss > lossLimit) throw Diverged(p.Step + 1, loss, lossLimit.Value, o);
                if (Parallel is null) _backend.Step(o.Adam, checked((int)(p.Step + 1)));
                else Parallel.Step(o.Adam, checked((int)(p.Step + 1)));
                p = p with
                {
                    BatchInEpoch = b + 1, Step = p.Step + 1,
                    RoundLossSum = p.RoundLossSum + (double)loss * targets,
                    RoundTargets = p.RoundTargets + targets,
                    RoundCellSteps = p.RoundCellSteps + cellSteps,
                };
                double targetsPerSecond = (p.RoundTargets - targetsAtClock) / clock.Elapsed.TotalSeconds;
                progress?.Report(new TrainProgressReport(p.Epoch, o.Epochs, b + 1, plan.Length, p.Step,
                    p.RoundLossSum / p.RoundTargets, targetsPerSecond, null));

                int epoch = p.Epoch + 1; // 1-based, the epoch this step belongs to (the log's and metrics.json's)
                bool epochEnd = b + 1 == plan.Length;
                // A finished epoch is recorded at once, so a checkpoint at its end resumes at the next one.
                if (epochEnd) p = p with { Epoch = epoch, BatchInEpoch = 0 };
                if (!IsRound(o, p.Step, epoch, epochEnd)) continue;

                double seconds = clock.Elapsed.TotalSeconds;
                var validation = Parallel?.Evaluate(SplitPart.Validation, o.BatchSize)
                    ?? Evaluator.Evaluate(_backend, _batcher, SplitPart.Validation, o.BatchSize); // short: Ctrl-C waits for the next batch boundary
                p = EndRound(p, epoch, validation, (p.RoundTargets - targetsAtClock) / seconds, seconds);
                WriteCheckpoint(p);
                progress?.Report(new TrainProgressReport(epoch - 1, o.Epochs, b + 1, plan.Length, p.Step, 0, 0, validation));
                clock.Restart();
                targetsAtClock = 0;
            }
        }
        return new TrainResult(p, Cancelled: false);
    }

    /// <summary>A batch whole: its gradient into the backend; the mean loss and the LSTM cell-steps it ran.</summary>
    private (float Loss, long CellSteps) ForwardBackward(int[] targets, ref float[] logits)
    {
        var batch = _batcher.Build(targets);
        if (logits.Length < batch.TargetCount) logits = new float[batch.TargetCount];
        _backend.ZeroGradients();
        return (_backend.ForwardBackward(batch, logits.AsSpan(0, batch.TargetCount)), Batcher.CellSteps(batch));
    }

    /// <summary>
    /// The loss guard's one line: the step, the loss and the limit it passed, what was kept (nothing is written
    /// from the diverged parameters), and what to try.
    /// </summary>
    private UsageException Diverged(long step, float loss, float limit, TrainOptions o)
    {
        string what = float.IsFinite(loss)
            ? string.Create(CultureInfo.InvariantCulture, $"loss {loss:G4}, above the guard's limit {limit:G3}: {ExplodeFactor}× the first batch's loss, taken as 1 to 5")
            : $"loss {loss}";
        string kept = !_run.IsStaged && _checkpointStep >= 0
            ? $"kept the last good checkpoint {CheckpointPath} (step {_checkpointStep}) and the best model {ModelPath}"
            : "nothing was written";
        return new UsageException(string.Create(CultureInfo.InvariantCulture,
            $"training diverged at step {step} ({what}); {kept}; try a smaller --lr (this run: {o.Adam.LearningRate:G3}) and check the item features for huge values"));
    }

    /// <summary>
    /// A validation round's bookkeeping: the best model and metrics.json when AUC_user improved, the log row, the
    /// patience count (in rounds) and early stopping; the round's accumulators start again.
    /// </summary>
    private TrainingProgress EndRound(TrainingProgress p, int epoch, MetricReport validation, double targetsPerSecond, double seconds)
    {
        var (better, progressed) = ValidationRound.Judge(validation.AucUser, p.BestAucUser, p.Options.MinDelta);
        if (better && Writes) WriteBest(validation, epoch, p.Step);
        if (Writes) TrainLog.Append(_run.LogPath, TrainLog.Row(p, epoch, validation, targetsPerSecond, seconds));
        int sinceBest = progressed ? 0 : p.SinceBest + 1;
        return p with
        {
            RoundLossSum = 0, RoundTargets = 0, RoundCellSteps = 0,
            BestAucUser = better ? validation.AucUser : p.BestAucUser,
            BestEpoch = better ? epoch : p.BestEpoch,
            SinceBest = sinceBest,
            EarlyStopped = sinceBest >= p.Options.Patience,
        };
    }

    /// <summary>A model file of the backend's current parameters (and, for a checkpoint, its Adam state).</summary>
    public static ModelFile Snapshot(IAlpineBackend backend, PreparedData data, BatchMode mode, TrainingProgress? checkpoint)
    {
        var c = backend.Config;
        int size = backend.Layout.Size;
        var parameters = new float[size];
        backend.CopyParametersTo(parameters);
        CheckpointState? state = null;
        if (checkpoint is not null)
        {
            var m = new float[size];
            var v = new float[size];
            backend.CopyOptimizerStateTo(m, v);
            state = new CheckpointState(m, v, checkpoint);
        }
        return new ModelFile
        {
            Config = c,
            Shape = new ModelShape(data.UserCount, data.Items.CategoryCount, c.ItemDim, c.HiddenSize, c.MlpHidden, size),
            Fingerprint = data.Fingerprint,
            Prepared = data.Options,
            Mode = mode,
            Parameters = parameters,
            Checkpoint = state,
        };
    }

    private void WriteCheckpoint(TrainingProgress p)
    {
        if (!Writes) { _checkpointStep = p.Step; return; }
        Snapshot(_backend, _data, _mode, p).Write(CheckpointPath);
        _checkpointStep = p.Step;
        _run.Publish();
    }

    private void WriteBest(MetricReport validation, int epoch, long step)
    {
        Snapshot(_backend, _data, _mode, null).Write(ModelPath);
        // Test metrics of the model this one replaces would be read as this model's.
        File.Delete(_run.TestMetricsPath);
        AtomicFile.WriteAllText(_run.MetricsPath, MetricsJson.Write(validation,
        [
            new("part", "validation"), new("epoch", epoch), new("step", step),
            new("variant", _backend.Config.Variant.ToString().ToLowerInvariant()), new("fingerprint", _data.Fingerprint),
        ]));
    }
}
