using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Device;

/// <summary>A range of an <see cref="IndexUpload"/>: <c>Length</c> ints at <c>At</c>.</summary>
public readonly record struct IndexRange(int At, int Length);

/// <summary>
/// The index arrays of one batch (targets, windows, target groups, fan-in CSRs) packed into one host buffer and
/// uploaded with one copy. Both buffers only grow (STYLE.md), so a step allocates nothing once shapes are seen.
/// Fill a range right after <see cref="Add"/> (a later Add may move the host buffer); take device views after
/// <see cref="Upload"/>.
/// </summary>
public sealed class IndexUpload(KernelSet kernels) : IDisposable
{
    private int[] _host = new int[256];
    private int _used;
    private readonly DeviceArray<int> _device = new(kernels.Accelerator);

    public void Clear() => _used = 0;

    /// <summary>Reserves <paramref name="length"/> ints; returns the range, to fill through <see cref="Host"/>.</summary>
    public IndexRange Add(int length)
    {
        if (_host.Length < _used + length) Array.Resize(ref _host, Math.Max(_used + length, 2 * _host.Length));
        var r = new IndexRange(_used, length);
        _used += length;
        return r;
    }

    public Span<int> Host(IndexRange r) => _host.AsSpan(r.At, r.Length);

    public void Upload()
    {
        kernels.Upload<int>(_host.AsSpan(0, _used), _device.Ensure(_used));
    }

    /// <summary>The device copy of a range (valid after <see cref="Upload"/>).</summary>
    public ArrayView<int> View(IndexRange r) => _device.View.SubView(r.At, r.Length);

    /// <summary>A range filled with float bits (<see cref="HostFloats"/>), as floats on the device.</summary>
    public ArrayView<float> FloatView(IndexRange r) => View(r).Cast<float>();

    /// <summary>A range to fill with floats: they travel as their bits in the same copy (the labels).</summary>
    public Span<float> HostFloats(IndexRange r) => System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(Host(r));

    public void Dispose() => _device.Dispose();
}
