using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>The CPU heads (<c>Alpine.Cpu.Attention</c>, <c>Mlp</c>), one thread, same workloads as <see cref="GpuHeadsBenchmarks"/>.</summary>
[ShortRunJob]
public class CpuHeadsBenchmarks
{
    [Params("Window", "SharedPrefix")] public string Mode = "Window";
    [Params(64, 128)] public int H;
    private HeadsBenchCase? _case;

    [GlobalSetup] public void Setup() => _case = new HeadsBenchCase(Mode, H, gpu: null);
    [GlobalCleanup] public void Cleanup() => _case?.Dispose();

    [Benchmark(Baseline = true)] public void AttentionForward() => _case!.CpuAttention(backward: false);
    [Benchmark] public void AttentionForwardBackward() => _case!.CpuAttention(backward: true);
    [Benchmark] public void MlpForwardBackward() => _case!.CpuMlp();
}
