using Alpine.Cpu;
using Alpine.Model;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// One whole-model train step on the CPU (CpuBackend: ForwardBackward + Adam Step) at 2048 targets in a
/// SharedPrefix-like batch: 64 users, each with one click and one not-click sequence of 200 steps and 32
/// targets whose windows end evenly along them. Kuaishou profile, variant alpine, D = H = 64, M = 128, L = 1.
/// One operation = one target, so samples/s = 10⁹ / Mean[ns]. Baseline: the forward alone (Predict) on the same batch.
/// </summary>
[ShortRunJob]
public class TrainStepBenchmarks
{
    private const int Users = 64, Steps = 200, PerUser = 32, Targets = Users * PerUser, ItemCount = 5000, D = 64;

    private Batch _batch = null!;
    private CpuBackend _backend = null!;
    private readonly float[] _logits = new float[Targets];
    private int _step;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var config = new ModelConfig { VisualDim = D };
        var items = new ItemTable(Enumerable.Range(0, ItemCount * D).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), D, null, 0);
        SequenceSet Sequences()
        {
            int[] offsets = Enumerable.Range(0, Users + 1).Select(u => u * Steps).ToArray();
            int[] pred = Enumerable.Range(0, Users * Steps).Select(i => i % Steps is var t && t == 0 ? -1 : t == 1 ? 0 : rng.Next(t - 1)).ToArray();
            return new SequenceSet(offsets, Enumerable.Range(0, Users * Steps).Select(_ => rng.Next(ItemCount)).ToArray(), pred, 1);
        }
        int[] user = Enumerable.Range(0, Targets).Select(t => t / PerUser).ToArray();
        int[] end = Enumerable.Range(0, Targets).Select(t => (t % PerUser + 1) * Steps / PerUser).ToArray();
        int[] start = end.Select(e => Math.Max(0, e - config.Window)).ToArray();
        _batch = new Batch
        {
            Clicks = Sequences(), NotClicks = Sequences(),
            TargetUser = user, TargetItem = user.Select(_ => rng.Next(ItemCount)).ToArray(),
            Label = user.Select(_ => (float)rng.Next(2)).ToArray(),
            ClickSeq = user, ClickStart = start, ClickEnd = end,
            NotClickSeq = user, NotClickStart = start, NotClickEnd = end,
        };
        ParameterLayout layout = ModelLayout.Create(config, Users, 0);
        var lists = new LikeFollowLists(new int[Users + 1], [], new int[Users + 1], []);
        _backend = new CpuBackend(config, items, Users, ParameterInit.Create(config, layout, items, lists, 1));
    }

    [GlobalCleanup] public void Cleanup() => _backend.Dispose();

    [Benchmark(OperationsPerInvoke = Targets)]
    public float TrainStep()
    {
        _backend.ZeroGradients();
        float loss = _backend.ForwardBackward(_batch, _logits);
        _backend.Step(new AdamSettings(), ++_step);
        return loss;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Targets)]
    public float PredictOnly()
    {
        _backend.Predict(_batch, _logits);
        return _logits[0];
    }
}
