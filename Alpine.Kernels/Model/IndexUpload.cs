using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>A range of an <see cref="IndexUpload"/>: <c>Length</c> ints at <c>At</c>.</summary>
public readonly record struct IndexRange(int At, int Length);

/// <summary>
/// The index arrays of one batch (targets, windows, target groups, fan-in CSRs) packed into one host buffer and
/// uploaded with one copy. Both buffers only grow (STYLE.md), so a step allocates nothing once shapes are seen.
/// Fill a range right after <see cref="Add"/> (a later Add may move the host buffer); take device views after
/// <see cref="Upload"/>.
/// </summary>
public sealed class IndexUpload(Accelerator accelerator) : IDisposable
{
    private int[] _host = new int[256];
    private int _used;
    private readonly DeviceArray<int> _device = new(accelerator);

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
        var view = _device.Ensure(_used);
        if (_used > 0) view.CopyFromCPU(_host.AsSpan(0, _used));
    }

    /// <summary>The device copy of a range (valid after <see cref="Upload"/>).</summary>
    public ArrayView<int> View(IndexRange r) => _device.View.SubView(r.At, r.Length);

    public void Dispose() => _device.Dispose();
}
