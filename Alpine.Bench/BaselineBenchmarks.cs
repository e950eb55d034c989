using Alpine.Baselines;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// One train step of each baseline (docs/BASELINES.md) at its default sizes: the gradient of 2,048 train
/// impressions (BPR: 2,048 pairs) over all threads (<see cref="BatchGradient"/>), L2 and the Adam step, as
/// <see cref="BaselineTrainer"/> runs it. Synthetic prepared data of the shape of <see cref="TrainStepBenchmarks"/>:
/// 64 users of 400 impressions (~30% clicks, so the click windows fill), 5,000 items, D = 64.
/// One operation = one target, so targets/s = 10⁹ / Mean[ns]; ALPINE's row is <see cref="TrainStepBenchmarks"/>.
/// Run: <c>dotnet run -c Release --project Alpine.Bench -- --filter '*BaselineBenchmarks*' --job short</c>
/// </summary>
[ShortRunJob]
public class BaselineBenchmarks
{
    private const int Users = 64, PerUser = 400, ItemCount = 5000, D = 64, Targets = 2048;

    private BaselineNet _net = null!;
    private BatchGradient _gradient = null!;
    private float[] _p = [], _g = [], _m = [], _v = [];
    private int[] _first = [];
    private int[] _batch = [];
    private int[]? _negatives;
    private int _step;

    [Params("bpr", "ncf", "din", "lstm_r", "cnn_r", "atrank", "thacil")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var log = new InteractionLog();
        for (int u = 0; u < Users; u++)
            for (int k = 0; k < PerUser; k++)
                log.Add(u, rng.Next(ItemCount), 1000L * k, rng.NextDouble() < 0.3, false, false);
        float[] features = Enumerable.Range(0, ItemCount * D).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        PreparedData data = PreparedData.FromLog(log, new ArrayRows(features, D), null, new PrepareOptions());
        var model = (BaselineModel)BaselineRegistry.Create(Model);
        _net = model.CreateNet(data);
        var targets = new ImpressionTargets(data);
        int[] train = targets.Positions(SplitPart.Train);
        rng.Shuffle(train);
        if (model.Loss == BaselineLoss.Pointwise)
            _batch = Alpine.Train.BatchPlan.ForEpoch(train, targets.UserOf, Targets, BaselineTrainer.PieceSize, 1, 1, Alpine.Train.PieceOrder.Scattered)[0];
        else
        {
            _first = train.Where(targets.Clicked).Take(Targets).ToArray();
            _negatives = _first.Select(q => train.First(r => targets.UserOf[r] == targets.UserOf[q] && !targets.Clicked(r))).ToArray();
        }
        _gradient = new BatchGradient(_net, targets, threads: 0);
        _p = _net.Initialise(1);
        (_g, _m, _v) = (new float[_p.Length], new float[_p.Length], new float[_p.Length]);
    }

    [Benchmark(OperationsPerInvoke = Targets)]
    public double TrainStep()
    {
        double loss = (_negatives is null ? _gradient.Compute(_p, _g, _batch) : _gradient.ComputePairs(_p, _g, _first, _negatives, 0, Targets))
            + Loss.L2Forward<float>(_net.Layout, _p, BaselineTrainer.L2);
        Loss.L2Backward<float>(_g, _net.Layout, _p, BaselineTrainer.L2);
        Adam.Step(_p, _g, _m, _v, new AdamSettings(), ++_step);
        return loss;
    }

    private sealed class ArrayRows(float[] data, int cols) : IFeatureRows
    {
        public long Rows => data.Length / cols;
        public int Cols => cols;
        public void ReadRows(long firstRow, Span<float> dest) => data.AsSpan((int)(firstRow * cols), dest.Length).CopyTo(dest);
    }
}
