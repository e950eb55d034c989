using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>The CPU graph-LSTM cell (the baseline of <see cref="GpuCellBenchmarks"/>), same workloads.</summary>
[ShortRunJob]
public class CpuCellBenchmarks
{
    [Params(256, 2048)] public int B;
    [Params(64, 128, 67)] public int H;
    private CellBenchCase? _case;

    [GlobalSetup] public void Setup() => _case = new CellBenchCase(B, GpuCellReport.T, H, gpu: null, withCpu: true);
    [GlobalCleanup] public void Cleanup() => _case?.Dispose();

    [Benchmark(Baseline = true)] public void Forward() => _case!.CpuForward();
    [Benchmark] public void ForwardBackward() => _case!.CpuForwardBackward();
}
