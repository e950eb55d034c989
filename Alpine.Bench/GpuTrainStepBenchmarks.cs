using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using Alpine.Train;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>The whole-model GPU train step (<see cref="TrainStepCase"/>) in both batch modes; needs a CUDA device
/// (<see cref="GpuTrainStepReport"/> is the hand-timed table that skips cleanly without one, with the CPU baseline).
/// One operation = one target.</summary>
[ShortRunJob]
public class GpuTrainStepBenchmarks
{
    [Params(BatchMode.SharedPrefix, BatchMode.Window)] public BatchMode Mode;
    private DeviceHandle? _gpu;
    private TrainStepCase? _case;

    [GlobalSetup]
    public void Setup()
    {
        _gpu = AcceleratorFactory.TryCreateCuda() ?? throw new InvalidOperationException($"GpuTrainStepBenchmarks need a CUDA device: {AcceleratorFactory.DescribeMissingCuda()}");
        _case = new TrainStepCase(Mode, _gpu, withCpu: false);
    }

    [GlobalCleanup]
    public void Cleanup() { _case?.Dispose(); _gpu?.Dispose(); }

    [Benchmark(OperationsPerInvoke = TrainStepCase.Users * TrainStepCase.PerUser)]
    public float TrainStep()
    {
        float norm = _case!.GpuStep(CellSchedule.StepLaunch);
        // Step leaves Adam running (the trainer packs the next batch meanwhile); a timed step includes it.
        _gpu!.Accelerator.Synchronize();
        return norm;
    }

    [Benchmark(OperationsPerInvoke = TrainStepCase.Users * TrainStepCase.PerUser)]
    public void Predict() => _case!.GpuPredict();
}
