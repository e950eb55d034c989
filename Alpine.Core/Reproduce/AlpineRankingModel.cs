using System.Globalization;
using Alpine.Baselines;
using Alpine.Cpu;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Reproduce;

/// <summary>
/// ALPINE or one of its Table 3 variants (SPEC D10) as an <see cref="IRankingModel"/>: the <see cref="Trainer"/> on
/// the CPU backend in SharedPrefix mode (as <c>alpine train</c> runs it by default), writing its run files into a
/// work folder of its own. A work folder that holds a checkpoint of the same model, options and data continues from
/// it, so a reproduction stopped by Ctrl-C in the middle of a long run loses at most one validation round.
/// </summary>
public sealed class AlpineRankingModel : IRankingModel
{
    /// <summary>The command-line names of the variants.</summary>
    public static readonly IReadOnlyList<(string Name, Variant Variant)> Variants =
        [("alpine", Variant.Alpine), ("alpine_u", Variant.U), ("alpine_m", Variant.M), ("alpine_um", Variant.UM), ("alpine_umg", Variant.UMG)];

    private const BatchMode Mode = BatchMode.SharedPrefix;
    private readonly Variant _variant;
    private readonly string _workDir;
    private readonly ModelConfig _model;
    private CpuBackend? _backend;
    private Batcher? _batcher;
    private PreparedData? _batcherData;
    private int _batchSize = new TrainOptions().BatchSize;

    /// <param name="workDir">The run files' folder (model.alp, checkpoint.alp, train_log.csv), created when missing.</param>
    /// <param name="model">Everything but the variant and what the data fixes (profile, visual dims, top-L); default SPEC's.</param>
    public AlpineRankingModel(Variant variant, string workDir, ModelConfig? model = null)
    {
        _variant = variant;
        _workDir = workDir;
        _model = model ?? new ModelConfig();
    }

    public string Name => Variants.Single(v => v.Variant == _variant).Name;

    /// <summary>The best model's file in the work folder, once <see cref="Fit"/> has run.</summary>
    public string ModelPath => Path.Combine(_workDir, RunFolder.ModelFileName);

    public RankingFit Fit(PreparedData data, RankingTrainOptions options, IProgress<RankingProgress>? progress = null, CancellationToken ct = default)
    {
        var config = _model with { Variant = _variant, Profile = data.Profile, VisualDim = data.Items.VisualDim, TopL = data.TopL };
        config.Validate();
        var train = new TrainOptions
        {
            Mode = Mode, Epochs = options.Epochs, Patience = options.Patience, MinDelta = options.MinDelta,
            BatchSize = options.BatchSize, Adam = new AdamSettings(LearningRate: options.LearningRate), Seed = options.Seed,
        };
        train.Validate();
        Directory.CreateDirectory(_workDir);
        var (backend, start) = ResumeOrStart(data, config, train, options.Threads);
        var result = new Trainer(backend, data, RunFolder.At(_workDir), Mode).Run(start, new Rounds(progress), ct);
        if (result.Cancelled) throw new OperationCanceledException("stopped; the checkpoint in " + _workDir + " continues the run", ct);
        // The trainer leaves the last round's parameters; the kept model is the best validation round's (SPEC D1).
        backend.LoadParameters(ModelFile.Read(ModelPath).Parameters);
        Use(backend, train.BatchSize);
        var p = result.Progress;
        return new RankingFit(p.BestEpoch, p.Epoch, p.BestAucUser, ReadCurve(Path.Combine(_workDir, RunFolder.LogFileName), train.Epochs));
    }

    /// <summary>
    /// The backend and the position to train from: the work folder's checkpoint when it is of this model, these
    /// options and this prepared data; otherwise fresh parameters from the seed (SPEC D11), the folder's old run
    /// files removed.
    /// </summary>
    private (CpuBackend, TrainingProgress) ResumeOrStart(PreparedData data, ModelConfig config, TrainOptions train, int threads)
    {
        string checkpoint = Path.Combine(_workDir, RunFolder.CheckpointFileName);
        if (File.Exists(checkpoint))
        {
            ModelFile? ck = null;
            try { ck = ModelFile.Read(checkpoint); }
            catch (DataFormatException) { /* a torn or foreign file: start again */ }
            if (ck is { Checkpoint: { } state } && ck.Config == config && ck.Mode == Mode && ck.Fingerprint == data.Fingerprint
                && ck.Prepared == data.Options && state.Progress.Options == train)
            {
                var resumed = new CpuBackend(config, data.Items, data.UserCount, ck.Parameters, threads);
                resumed.LoadOptimizerState(state.M, state.V);
                return (resumed, state.Progress);
            }
        }
        foreach (string f in RunFolder.Files) File.Delete(Path.Combine(_workDir, f));
        var layout = ModelLayout.Create(config, data.UserCount, data.CategoryCount);
        float[] initial = ParameterInit.Create(config, layout, data.Items, data.LikesFollows, (ulong)train.Seed);
        return (new CpuBackend(config, data.Items, data.UserCount, initial, threads), new TrainingProgress { Options = train, Device = "cpu" });
    }

    /// <summary>The model of a finished run's work folder, for scoring and attention without training again.</summary>
    public static AlpineRankingModel Load(string workDir, PreparedData data, int threads = 0)
    {
        string path = Path.Combine(workDir, RunFolder.ModelFileName);
        var file = ModelFile.Read(path);
        if (file.Fingerprint != data.Fingerprint || file.Prepared != data.Options)
            throw new DataFormatException(path, "was trained on other data or other prepare options than the data given");
        var model = new AlpineRankingModel(file.Config.Variant, workDir, file.Config);
        model.Use(new CpuBackend(file.Config, data.Items, data.UserCount, file.Parameters, threads), new TrainOptions().BatchSize);
        return model;
    }

    private void Use(CpuBackend backend, int batchSize)
    {
        _backend = backend;
        _batchSize = batchSize;
        _batcher = null;
        _batcherData = null;
    }

    public void Score(PreparedData data, ReadOnlySpan<int> positions, Span<float> logits)
    {
        if (positions.Length != logits.Length) throw new ArgumentException($"{positions.Length} positions, {logits.Length} logits");
        var (backend, batcher) = Ready(data);
        Evaluator.Predict(backend, batcher, positions, logits, _batchSize);
    }

    /// <summary>
    /// The click branch's attention weights for each of <paramref name="positions"/> (one batch): the first click
    /// sequence position of its window and α over the window, oldest first (SPEC D7, D12).
    /// </summary>
    public IReadOnlyList<(int Start, float[] Alpha)> ClickAttention(PreparedData data, int[] positions)
    {
        var (backend, batcher) = Ready(data);
        var batch = batcher.Build(positions);
        backend.Predict(batch, new float[positions.Length]);
        return [.. Enumerable.Range(0, positions.Length).Select(t => (batch.ClickStart[t], backend.ClickAttention(t).ToArray()))];
    }

    private (CpuBackend, Batcher) Ready(PreparedData data)
    {
        var backend = _backend ?? throw new InvalidOperationException($"{Name}: Score before Fit");
        if (_batcher is null || !ReferenceEquals(_batcherData, data)) (_batcher, _batcherData) = (new Batcher(data, backend.Config, Mode), data);
        return (backend, _batcher);
    }

    /// <summary>The validation rounds of a run's <c>train_log.csv</c> (<see cref="TrainLog.Header"/>: step, epoch, loss, val_auc_user, …).</summary>
    private static List<RankingProgress> ReadCurve(string log, int epochs)
    {
        static double Number(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
        return [.. File.ReadAllLines(log).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(f => new RankingProgress(int.Parse(f[1], CultureInfo.InvariantCulture), epochs, Number(f[2]), Number(f[3])))];
    }

    /// <summary>The trainer's validation rounds as <see cref="RankingProgress"/>, with the round's latest mean loss.</summary>
    private sealed class Rounds(IProgress<RankingProgress>? progress) : IProgress<TrainProgressReport>
    {
        private double _loss = double.NaN;

        public void Report(TrainProgressReport r)
        {
            if (r.Validation is null) { _loss = r.Loss; return; }
            progress?.Report(new RankingProgress(r.Epoch + 1, r.Epochs, _loss, r.Validation.AucUser));
        }
    }
}
