using Alpine.Cpu;
using Alpine.Model;
using Alpine.Train;
using Alpine.Prep;
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
        _batch = StepBatches.Build(BatchMode.SharedPrefix, Users, Steps, Steps, PerUser, config.Window, ItemCount, seed: 1);
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
