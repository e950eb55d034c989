using Alpine.Baselines;
using Alpine.Cpu;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// One train step of each baseline (docs/BASELINES.md) at its default sizes beside ALPINE's, on the same 2,048 train
/// targets of prepared data (<c>ALPINE_BENCH_DATA</c>, default alpine-demo/data): the first targets of the epoch-1
/// plan, scattered pieces of 128 (the batches both trainers draw). A baseline's step is the gradient over all threads
/// (<see cref="BatchGradient"/>), L2 and Adam as <see cref="BaselineTrainer"/> runs it (BPR: 2,048 pairs of a clicked
/// target and a not-clicked one of its user); ALPINE's is the SharedPrefix step of <see cref="CpuBackend"/>
/// (zero gradients, forward + backward, Adam) on the batch of those targets. One operation = one target, so
/// targets/s = 10⁹ / Mean[ns].
/// Run: <c>ALPINE_BENCH_DATA=DIR dotnet run -c Release --project Alpine.Bench -- --filter '*BaselineBenchmarks*' --job short</c>
/// </summary>
public class BaselineBenchmarks
{
    private const int Targets = 2048;

    private BaselineNet _net = null!;
    private BatchGradient _gradient = null!;
    private float[] _p = [], _g = [], _m = [], _v = [];
    private int[] _batch = [];
    private int[]? _negatives;
    private CpuBackend? _alpine;
    private Batch _alpineBatch = null!;
    private float[] _logits = [];
    private int _step;

    [Params("alpine", "bpr", "ncf", "din", "lstm_r", "cnn_r", "atrank", "thacil")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string dir = Environment.GetEnvironmentVariable("ALPINE_BENCH_DATA") ?? Path.Combine("alpine-demo", "data");
        PreparedData data = PreparedData.Load(dir);
        var targets = new ImpressionTargets(data);
        int[] train = targets.Positions(SplitPart.Train);
        var plan = BatchPlan.ForEpoch(train, targets.UserOf, Targets, BaselineTrainer.PieceSize, seed: 1, epoch: 1, PieceOrder.Scattered);
        _batch = plan.SelectMany(b => b).Take(Targets).ToArray();
        if (Model == "alpine")
        {
            var config = new ModelConfig { Profile = data.Profile, VisualDim = data.Items.VisualDim, TopL = data.TopL };
            var layout = ModelLayout.Create(config, data.UserCount, data.CategoryCount);
            _alpine = new CpuBackend(config, data.Items, data.UserCount, ParameterInit.Create(config, layout, data.Items, data.LikesFollows, 1));
            Array.Sort(_batch);
            _alpineBatch = new Batcher(data, config, BatchMode.SharedPrefix).Build(_batch);
            _logits = new float[_alpineBatch.TargetCount];
            return;
        }
        var model = (BaselineModel)BaselineRegistry.Create(Model);
        _net = model.CreateNet(data);
        if (model.Loss == BaselineLoss.Pairwise)
        {
            _batch = train.Where(targets.Clicked).Take(Targets).ToArray();
            _negatives = _batch.Select(q => train.First(r => targets.UserOf[r] == targets.UserOf[q] && !targets.Clicked(r))).ToArray();
        }
        _gradient = new BatchGradient(_net, targets, threads: 0);
        _p = _net.Initialise(1);
        (_g, _m, _v) = (new float[_p.Length], new float[_p.Length], new float[_p.Length]);
    }

    [GlobalCleanup]
    public void Cleanup() => _alpine?.Dispose();

    [Benchmark(OperationsPerInvoke = Targets)]
    public double TrainStep()
    {
        if (_alpine is { } backend)
        {
            backend.ZeroGradients();
            float l = backend.ForwardBackward(_alpineBatch, _logits);
            backend.Step(new AdamSettings(LearningRate: 1e-3f), ++_step);
            return l;
        }
        double loss = (_negatives is null ? _gradient.Compute(_p, _g, _batch) : _gradient.ComputePairs(_p, _g, _batch, _negatives, 0, Targets))
            + Loss.L2Forward<float>(_net.Layout, _p, BaselineTrainer.L2);
        Loss.L2Backward<float>(_g, _net.Layout, _p, BaselineTrainer.L2);
        Adam.Step(_p, _g, _m, _v, new AdamSettings(), ++_step);
        return loss;
    }
}
