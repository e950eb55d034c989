using System.Diagnostics;
using System.Globalization;
using System.Text;
using Alpine.Data;
using Alpine.Eval;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Train;

/// <summary>What the trainer reports after each batch and each validation.</summary>
public readonly record struct TrainProgressReport(
    int Epoch, int Epochs, int Batch, int Batches, long Step, double EpochLoss, double TargetsPerSecond, MetricReport? Validation);

/// <summary>How a run ended: the position reached, the best validation metrics, whether Ctrl-C stopped it.</summary>
public sealed record TrainResult(TrainingProgress Progress, bool Cancelled);

/// <summary>
/// The training loop (SPEC D11–D13): epochs of shuffled batches, Adam, validation on the Validation part after
/// every epoch, early stopping on validation AUC_user with patience, the best model kept. It reads the
/// Train and Validation parts only; test labels are never touched (SPEC D1).
/// Files in the run folder: <c>model.alp</c> (the best model so far), <c>metrics.json</c> (its validation
/// metrics), <c>checkpoint.alp</c> (after every epoch, and where Ctrl-C stopped), <c>train_log.csv</c>.
/// A fresh run may train in a staging folder that moves to its run folder at the first checkpoint (<see cref="RunFolder"/>).
/// </summary>
public sealed class Trainer
{
    public const string ModelFileName = "model.alp", CheckpointFileName = "checkpoint.alp",
        LogFileName = "train_log.csv", MetricsFileName = "metrics.json", TestMetricsFileName = "metrics_test.json";

    private const string LogHeader =
        "step,epoch,loss,val_auc_user,val_auc_global,val_gauc,val_logloss,val_p50,val_r50,val_f50,targets_per_s,cell_steps,seconds";

    private readonly IAlpineBackend _backend;
    private readonly PreparedData _data;
    private readonly Batcher _batcher;
    private readonly BatchMode _mode;
    private string _runDir;
    private string? _publishTo;

    /// <summary>
    /// Writes the run's files into <paramref name="runDir"/>. With <paramref name="publishTo"/>, <paramref name="runDir"/>
    /// is a staging folder: the first checkpoint moves it to <paramref name="publishTo"/> (replacing the folder there,
    /// which the caller has checked holds only a run), and the run goes on there.
    /// </summary>
    public Trainer(IAlpineBackend backend, PreparedData data, string runDir, BatchMode mode, string? publishTo = null)
    {
        _backend = backend; _data = data; _runDir = runDir; _mode = mode; _publishTo = publishTo;
        _batcher = new Batcher(data, backend.Config, mode);
    }

    public string ModelPath => Path.Combine(_runDir, ModelFileName);
    public string CheckpointPath => Path.Combine(_runDir, CheckpointFileName);

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
        TrimLog(start.Step);

        var p = start;
        var logits = new float[Math.Min(o.BatchSize, train.Length)];
        while (!p.EarlyStopped && p.Epoch < o.Epochs)
        {
            int[][] plan = BatchPlan.ForEpoch(train, _batcher.UserOf, o.BatchSize, o.PieceSize, o.Seed, p.Epoch);
            var clock = Stopwatch.StartNew();
            long targetsAtStart = p.EpochTargets;
            for (int b = p.BatchInEpoch; b < plan.Length; b++)
            {
                if (ct.IsCancellationRequested)
                {
                    WriteCheckpoint(p);
                    return new TrainResult(p, Cancelled: true);
                }
                var batch = _batcher.Build(plan[b]);
                if (logits.Length < batch.TargetCount) logits = new float[batch.TargetCount];
                _backend.ZeroGradients();
                float loss = _backend.ForwardBackward(batch, logits.AsSpan(0, batch.TargetCount));
                if (!float.IsFinite(loss))
                    throw new UsageException($"training diverged at step {p.Step + 1} (loss {loss}); try a smaller --lr");
                _backend.Step(o.Adam, checked((int)(p.Step + 1)));
                p = p with
                {
                    BatchInEpoch = b + 1, Step = p.Step + 1,
                    EpochLossSum = p.EpochLossSum + (double)loss * batch.TargetCount,
                    EpochTargets = p.EpochTargets + batch.TargetCount,
                    EpochCellSteps = p.EpochCellSteps + Batcher.CellSteps(batch),
                };
                progress?.Report(new TrainProgressReport(p.Epoch, o.Epochs, b + 1, plan.Length, p.Step,
                    p.EpochLossSum / p.EpochTargets, (p.EpochTargets - targetsAtStart) / clock.Elapsed.TotalSeconds, null));
            }
            double seconds = clock.Elapsed.TotalSeconds;

            var validation = Evaluator.Evaluate(_backend, _batcher, SplitPart.Validation, o.BatchSize); // short: Ctrl-C waits for the next batch boundary
            // NaN (no validation user with both classes) never compares: each epoch then counts as the best.
            bool better = !(validation.AucUser <= p.BestAucUser);
            int epochDone = p.Epoch + 1;
            if (better) WriteBest(validation, epochDone, p.Step);
            AppendLog(p, epochDone, validation, (p.EpochTargets - targetsAtStart) / seconds, seconds);
            int sinceBest = better ? 0 : p.SinceBest + 1;
            p = p with
            {
                Epoch = epochDone, BatchInEpoch = 0, EpochLossSum = 0, EpochTargets = 0, EpochCellSteps = 0,
                BestAucUser = better ? validation.AucUser : p.BestAucUser,
                BestEpoch = better ? epochDone : p.BestEpoch,
                SinceBest = sinceBest,
                EarlyStopped = sinceBest >= o.Patience,
            };
            WriteCheckpoint(p);
            progress?.Report(new TrainProgressReport(p.Epoch, o.Epochs, plan.Length, plan.Length, p.Step, 0, 0, validation));
        }
        return new TrainResult(p, Cancelled: false);
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
        Snapshot(_backend, _data, _mode, p).Write(CheckpointPath);
        if (_publishTo is null) return;
        AtomicFile.ReplaceFolder(_runDir, _publishTo);
        _runDir = _publishTo;
        _publishTo = null;
    }

    private void WriteBest(MetricReport validation, int epoch, long step)
    {
        Snapshot(_backend, _data, _mode, null).Write(ModelPath);
        AtomicFile.WriteAllText(Path.Combine(_runDir, MetricsFileName), MetricsJson.Write(validation,
        [
            new("part", "validation"), new("epoch", epoch), new("step", step),
            new("variant", _backend.Config.Variant.ToString().ToLowerInvariant()), new("fingerprint", _data.Fingerprint),
        ]));
    }

    private string LogPath => Path.Combine(_runDir, LogFileName);

    /// <summary>
    /// Keeps the log rows up to <paramref name="step"/>, where a resumed run starts (a crash may have left later
    /// ones), and refuses a malformed row naming its line. A last line without its newline is an append that a
    /// crash cut short (<see cref="AppendLog"/> writes each row whole, newline last): it is dropped.
    /// </summary>
    private void TrimLog(long step)
    {
        if (!File.Exists(LogPath)) { AtomicFile.WriteAllText(LogPath, LogHeader + "\n"); return; }
        string[] lines = File.ReadAllText(LogPath).Split('\n'); // the last piece is "" or a torn row
        if (lines.Length < 2 || lines[0].TrimEnd('\r') != LogHeader)
            throw new DataFormatException(LogPath, 1, $"expected the header '{LogHeader}'");
        int columns = LogHeader.Count(c => c == ',') + 1;
        var keep = new List<string> { LogHeader };
        for (int i = 1; i < lines.Length - 1; i++)
        {
            string row = lines[i].TrimEnd('\r');
            if (row.Length == 0) continue;
            string[] f = row.Split(',');
            if (f.Length != columns || !long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out long s)
                || !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw new DataFormatException(LogPath, i + 1, $"malformed row '{row}'; expected {columns} columns ({LogHeader}) with whole numbers for step and epoch");
            if (s <= step) keep.Add(row);
        }
        AtomicFile.WriteAllText(LogPath, string.Join("\n", keep) + "\n");
    }

    private void AppendLog(TrainingProgress p, int epoch, MetricReport v, double targetsPerSecond, double seconds)
    {
        int k50 = Array.IndexOf(v.Ks, 50);
        string F(double x) => double.IsFinite(x) ? x.ToString("0.######", CultureInfo.InvariantCulture) : "";
        var row = string.Join(",",
            p.Step.ToString(CultureInfo.InvariantCulture), epoch.ToString(CultureInfo.InvariantCulture),
            F(p.EpochLossSum / Math.Max(1, p.EpochTargets)),
            F(v.AucUser), F(v.AucGlobal), F(v.GAuc), F(v.LogLoss),
            F(k50 >= 0 ? v.Precision[k50] : double.NaN), F(k50 >= 0 ? v.Recall[k50] : double.NaN), F(k50 >= 0 ? v.F1[k50] : double.NaN),
            F(Math.Round(targetsPerSecond, 1)), p.EpochCellSteps.ToString(CultureInfo.InvariantCulture), F(Math.Round(seconds, 3)));
        // One write of the whole row, newline last, flushed: a crash leaves the row whole or a tail without a newline.
        using var log = new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        log.Write(Encoding.UTF8.GetBytes(row + "\n"));
        log.Flush(flushToDisk: true);
    }
}
