using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>The GPU graph-LSTM cell, launch-per-step vs persistent, forward and forward+backward, at T = 300
/// (needs a CUDA device; the napkin math and % of peak are in <see cref="GpuCellReport"/>).</summary>
[ShortRunJob]
public class GpuCellBenchmarks
{
    [Params(256, 2048)] public int B;
    [Params(64, 128, 67)] public int H;
    private DeviceHandle? _gpu;
    private CellBenchCase? _case;

    [GlobalSetup]
    public void Setup()
    {
        _gpu = AcceleratorFactory.TryCreateCuda() ?? throw new InvalidOperationException($"GpuCellBenchmarks need a CUDA device: {AcceleratorFactory.DescribeMissingCuda()}");
        _case = new CellBenchCase(B, GpuCellReport.T, H, _gpu, withCpu: false);
    }

    [GlobalCleanup]
    public void Cleanup() { _case?.Dispose(); _gpu?.Dispose(); }

    [Benchmark] public void StepForward() => _case!.GpuForward(CellSchedule.StepLaunch);
    [Benchmark] public void StepForwardBackward() => _case!.GpuForwardBackward(CellSchedule.StepLaunch);
    [Benchmark] public void PersistentForward() => _case!.GpuForward(CellSchedule.Persistent);
    [Benchmark] public void PersistentForwardBackward() => _case!.GpuForwardBackward(CellSchedule.Persistent);
}
