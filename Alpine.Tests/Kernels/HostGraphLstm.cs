using System.Numerics.Tensors;
using Alpine.Cpu;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using Alpine.Model;
using Alpine.Prep;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Tests.Kernels;

/// <summary>
/// A test adapter: <see cref="GpuGraphLstm"/> called with host spans in the argument order of
/// <see cref="GraphLstm{T}"/>. Each call uploads the layer's weights and inputs, runs the kernels, and copies the
/// results back, so a cell test compares the two layers call for call; the GPU backend drives
/// <see cref="GpuGraphLstm"/> directly on device views.
/// </summary>
public sealed class HostGraphLstm : IDisposable
{
    private readonly GpuGraphLstm _lstm;
    private readonly DeviceArray<float> _wx, _wh, _wg, _b, _x, _dh, _dx, _dwx, _dwh, _dwg, _db;
    private SequenceSet? _forwardSeqs;

    public HostGraphLstm(KernelSet kernels, int d, int h, bool useGraph, CStarReading cstar, int topL, CellSchedule schedule)
    {
        _lstm = new GpuGraphLstm(kernels, d, h, useGraph, cstar, topL);
        Schedule = schedule;
        var a = kernels.Accelerator;
        (_wx, _wh, _wg, _b, _x, _dh) = (new(a), new(a), new(a), new(a), new(a), new(a));
        (_dx, _dwx, _dwh, _dwg, _db) = (new(a), new(a), new(a), new(a), new(a));
    }

    public CellSchedule Schedule { get; set; }
    public GpuGraphLstm Layer => _lstm;

    public void Forward(ReadOnlySpan<float> wx, ReadOnlySpan<float> wh, ReadOnlySpan<float> wg, ReadOnlySpan<float> b,
        SequenceSet seqs, ReadOnlySpan<float> x, Span<float> h)
    {
        var dims = _lstm.Dims;
        int n = seqs.TotalSteps;
        if (x.Length != n * dims.D || h.Length != n * dims.H) throw new ArgumentException($"x must be (N={n}, D={dims.D}) and h (N, H={dims.H})");
        _lstm.Prepare(seqs);
        _forwardSeqs = seqs;
        var w = Upload(wx, wh, wg, b);
        var xv = Put(_x, x);
        _lstm.Forward(w, xv, Schedule);
        if (n > 0) _lstm.Hidden.CopyToCPU(h);
    }

    public void Backward(ReadOnlySpan<float> wx, ReadOnlySpan<float> wh, ReadOnlySpan<float> wg, ReadOnlySpan<float> b,
        SequenceSet seqs, ReadOnlySpan<float> x, ReadOnlySpan<float> dh, Span<float> dx,
        Span<float> dwx, Span<float> dwh, Span<float> dwg, Span<float> db)
    {
        if (!ReferenceEquals(seqs, _forwardSeqs)) throw new InvalidOperationException("Backward needs the sequences of the latest Forward");
        int n = seqs.TotalSteps;
        if (n == 0) { dx.Clear(); return; }
        // The weights and x of the latest Forward are still on the device.
        var w = new LstmWeightViews { Wx = _wx.View.SubView(0, wx.Length), Wh = _wh.View.SubView(0, wh.Length), Wg = _wg.View.SubView(0, wg.Length), B = _b.View.SubView(0, b.Length) };
        var grad = new LstmWeightViews { Wx = Zeroed(_dwx, dwx.Length), Wh = Zeroed(_dwh, dwh.Length), Wg = Zeroed(_dwg, dwg.Length), B = Zeroed(_db, db.Length) };
        var dhv = Put(_dh, dh);
        var dxv = _dx.Ensure(dx.Length);
        _lstm.Backward(w, _x.View.SubView(0, x.Length), dhv, dxv, grad, Schedule);
        dxv.CopyToCPU(dx);
        AddBack(grad.Wx, dwx); AddBack(grad.Wh, dwh); AddBack(grad.Wg, dwg); AddBack(grad.B, db);
    }

    private LstmWeightViews Upload(ReadOnlySpan<float> wx, ReadOnlySpan<float> wh, ReadOnlySpan<float> wg, ReadOnlySpan<float> b) =>
        new() { Wx = Put(_wx, wx), Wh = Put(_wh, wh), Wg = Put(_wg, wg), B = Put(_b, b) };

    private static ArrayView<float> Put(DeviceArray<float> target, ReadOnlySpan<float> source)
    {
        var view = target.Ensure(source.Length);
        if (source.Length > 0) view.CopyFromCPU(source);
        return view;
    }

    private static ArrayView<float> Zeroed(DeviceArray<float> target, int length)
    {
        var view = target.Ensure(length);
        if (length > 0) view.MemSetToZero();
        return view;
    }

    /// <summary>host += device (parameter gradients accumulate).</summary>
    private static void AddBack(ArrayView<float> device, Span<float> host)
    {
        if (host.Length == 0) return;
        float[] tmp = new float[host.Length];
        device.CopyToCPU(tmp);
        TensorPrimitives.Add(host, tmp, host);
    }

    public void Dispose()
    {
        _lstm.Dispose();
        foreach (var a in new[] { _wx, _wh, _wg, _b, _x, _dh, _dx, _dwx, _dwh, _dwg, _db }) a.Dispose();
    }
}
