using Alpine.Cpu;
using Alpine.Kernels.Backend;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Bench;

/// <summary>
/// One whole-model train step (zero gradients, forward + backward, Adam) on a `small`-shaped batch (model over the
/// `small` preset's 500 users and 50,000 items; kuaishou, variant alpine, D = H = 64, M = 128, L = 1, W = 300):
/// 2,000 targets of 10 users, click sequences of 200 and not-click sequences of 130 positions. SharedPrefix: 3,300
/// LSTM cell-steps (the first `small` batch has 3,264); Window: each target's own windows, 330,700 cell-steps.
/// On the CPU backend and/or the GPU backend (everything device-resident: per step only indices and labels go up).
/// </summary>
public sealed class TrainStepCase : IDisposable
{
    public const int Users = 10, PerUser = 200, ClickSteps = 200, NotClickSteps = 130, ModelUsers = 500, ItemCount = 50_000, D = 64;
    private readonly CpuBackend? _cpu;
    private readonly GpuBackend? _gpu;
    private readonly float[] _logits;
    private int _cpuStep, _gpuStep;

    public TrainStepCase(BatchMode mode, DeviceHandle? gpu, bool withCpu)
    {
        var rng = new Random(1);
        var config = new ModelConfig { VisualDim = D };
        var items = new ItemTable(Enumerable.Range(0, ItemCount * D).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), D, null, 0);
        Batch = StepBatches.Build(mode, Users, ClickSteps, NotClickSteps, PerUser, config.Window, ItemCount, seed: 2);
        var layout = ModelLayout.Create(config, ModelUsers, 0);
        var lists = new LikeFollowLists(new int[ModelUsers + 1], [], new int[ModelUsers + 1], []);
        float[] init = ParameterInit.Create(config, layout, items, lists, 1);
        if (withCpu) _cpu = new CpuBackend(config, items, ModelUsers, init);
        if (gpu != null) _gpu = new GpuBackend(config, items, ModelUsers, init, gpu.Accelerator);
        _logits = new float[Batch.TargetCount];
    }

    public Batch Batch { get; }
    public long CellSteps => StepBatches.CellSteps(Batch);

    public float CpuStep() => Step(_cpu!, ++_cpuStep);

    public float GpuStep(CellSchedule schedule)
    {
        _gpu!.Schedule = schedule;
        return Step(_gpu, ++_gpuStep);
    }

    public void GpuPredict() => _gpu!.Predict(Batch, _logits);

    private float Step(IAlpineBackend backend, int step)
    {
        backend.ZeroGradients();
        float loss = backend.ForwardBackward(Batch, _logits);
        backend.Step(new AdamSettings(LearningRate: 1e-3f), step);
        return loss;
    }

    public void Dispose() { _cpu?.Dispose(); _gpu?.Dispose(); }
}
