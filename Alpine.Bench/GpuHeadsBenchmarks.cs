using Alpine.Kernels.Device;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>The device heads (attention forward, forward+backward, the MLP head forward+backward) on a train batch
/// of either mode (needs a CUDA device; <see cref="CpuHeadsBenchmarks"/> is the baseline).</summary>
[ShortRunJob]
public class GpuHeadsBenchmarks
{
    [Params("Window", "SharedPrefix")] public string Mode = "Window";
    [Params(64, 128)] public int H;
    private DeviceHandle? _gpu;
    private HeadsBenchCase? _case;

    [GlobalSetup]
    public void Setup()
    {
        _gpu = AcceleratorFactory.TryCreateCuda() ?? throw new InvalidOperationException($"GpuHeadsBenchmarks need a CUDA device: {AcceleratorFactory.DescribeMissingCuda()}");
        _case = new HeadsBenchCase(Mode, H, _gpu);
    }

    [GlobalCleanup]
    public void Cleanup() { _case?.Dispose(); _gpu?.Dispose(); }

    [Benchmark] public void AttentionForward() => _case!.GpuAttentionRun(backward: false);
    [Benchmark] public void AttentionForwardBackward() => _case!.GpuAttentionRun(backward: true);
    [Benchmark] public void MlpForwardBackward() => _case!.GpuMlpRun();
}
