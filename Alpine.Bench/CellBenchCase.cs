using Alpine.Cpu;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using Alpine.Model;
using Alpine.Prep;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Bench;

/// <summary>
/// One graph-LSTM layer workload (B sequences of T steps, D = H, the default graph path, Neighbor c*, L = 1) on
/// the CPU reference and on the GPU kernels, plus its napkin math. GPU timings keep everything device-resident
/// (no host copies), so they measure the cell, not PCIe.
/// </summary>
public sealed class CellBenchCase : IDisposable
{
    public CellBenchCase(int b, int t, int h, DeviceHandle? gpu, bool withCpu)
    {
        (B, T, H, D) = (b, t, h, h);
        var rng = new Random(1);
        int n = b * t, g = 8;
        var offsets = Enumerable.Range(0, b + 1).Select(s => s * t).ToArray();
        var pred = new int[n];
        for (int s = 0; s < b; s++)
            for (int p = 0; p < t; p++) pred[s * t + p] = p == 0 ? -1 : p == 1 ? 0 : rng.Next(p - 1);
        // A distinct item per row: x is random per row (the layer shares a projection between rows of one item).
        Seqs = new SequenceSet(offsets, Enumerable.Range(0, n).ToArray(), pred, 1);
        float[] R(long count, float scale) { var a = new float[count]; for (long i = 0; i < count; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale; return a; }
        (_wx, _wh, _wg, _b) = (R(g * h * D, 0.2f), R(4 * h * h, 0.2f), R(4 * h * h, 0.2f), R(g * h, 0.1f));
        _x = R((long)n * D, 1f);
        _dh = R((long)n * h, 1f);
        if (withCpu)
        {
            _cpu = new GraphLstm<float>(D, h, true, CStarReading.Neighbor, 1);
            _h = new float[(long)n * h]; _dx = new float[(long)n * D];
            (_dwx, _dwh, _dwg, _db) = (new float[_wx.Length], new float[_wh.Length], new float[_wg.Length], new float[_b.Length]);
        }
        if (gpu != null)
        {
            var a = gpu.Accelerator;
            Kernels = new KernelSet(a);
            _gpu = new GpuGraphLstm(Kernels, D, h, true, CStarReading.Neighbor, 1);
            _gpu.Prepare(Seqs);
            _buffers = [a.Allocate1D(_wx), a.Allocate1D(_wh), a.Allocate1D(_wg), a.Allocate1D(_b), a.Allocate1D(_x), a.Allocate1D(_dh),
                a.Allocate1D<float>((long)n * D), a.Allocate1D<float>(_wx.Length), a.Allocate1D<float>(_wh.Length), a.Allocate1D<float>(_wg.Length), a.Allocate1D<float>(_b.Length)];
            _w = new LstmWeightViews { Wx = _buffers[0].View, Wh = _buffers[1].View, Wg = _buffers[2].View, B = _buffers[3].View };
            _dw = new LstmWeightViews { Wx = _buffers[7].View, Wh = _buffers[8].View, Wg = _buffers[9].View, B = _buffers[10].View };
        }
    }

    public int B { get; }
    public int T { get; }
    public int H { get; }
    public int D { get; }
    public SequenceSet Seqs { get; }
    public KernelSet? Kernels { get; }
    private readonly float[] _wx, _wh, _wg, _b, _x, _dh;
    private readonly GraphLstm<float>? _cpu;
    private readonly float[] _h = [], _dx = [], _dwx = [], _dwh = [], _dwg = [], _db = [];
    private readonly GpuGraphLstm? _gpu;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>[] _buffers = [];
    private readonly LstmWeightViews _w, _dw;

    public void CpuForward() => _cpu!.Forward(_wx, _wh, _wg, _b, Seqs, _x, _h);

    public void CpuForwardBackward()
    {
        CpuForward();
        _cpu!.Backward(_wx, _wh, _wg, _b, Seqs, _x, _dh, _dx, _dwx, _dwh, _dwg, _db);
    }

    public void GpuForward(CellSchedule schedule)
    {
        _gpu!.Forward(_w, _buffers[4].View, schedule);
        Kernels!.Accelerator.Synchronize();
    }

    public void GpuForwardBackward(CellSchedule schedule)
    {
        _gpu!.Forward(_w, _buffers[4].View, schedule);
        _gpu.Backward(_w, _buffers[4].View, _buffers[5].View, _buffers[6].View, _dw, schedule);
        Kernels!.Accelerator.Synchronize();
    }

    private double N => (double)B * T;
    private double GH => 8.0 * H;
    /// <summary>Forward: the x-projection GEMM 2·N·GH·D plus the recurrent products 2·N·GH·H (element-wise work ignored).</summary>
    public double ForwardFlops => 2 * N * GH * (D + H);
    /// <summary>Backward: dh (2·N·GH·H), dx and dWx (2·2·N·GH·D), dWh+dWg (2·N·GH·H): twice the forward.</summary>
    public double BackwardFlops => 2 * ForwardFlops;
    /// <summary>DRAM bytes if every activation is written once and read once per use (weights stay in cache):
    /// forward x, gates ×3 (GEMM write, step read+write), ~10 (N,H) arrays; backward gates, DPre ×4, ~12 (N,H), x, dx.</summary>
    public double ForwardBytes => 4 * N * (D + 3 * GH + 10 * H);
    public double BackwardBytes => 4 * N * (5 * GH + 12 * H + 2 * D);

    public void Dispose()
    {
        _gpu?.Dispose();
        foreach (var b in _buffers) b.Dispose();
    }
}
