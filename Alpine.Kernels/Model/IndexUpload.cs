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

/// <summary>
/// A fan-in as CSR (SPEC D13): the sources 0 .. n−1 grouped by destination row, each group in increasing source
/// order (a stable counting sort), so a kernel thread per (row, column) adds them in the CPU's order without atomics.
/// </summary>
public sealed class FanIn
{
    private int[] _start = [];

    public IndexRange Rows { get; private set; }
    public IndexRange Offsets { get; private set; }
    public IndexRange Sources { get; private set; }
    /// <summary>Distinct destination rows (groups).</summary>
    public int Groups { get; private set; }

    /// <summary>Groups source i by <paramref name="keys"/>[i] ∈ [0, keyCount) into three ranges of <paramref name="up"/>.</summary>
    public void Build(IndexUpload up, ReadOnlySpan<int> keys, int keyCount)
    {
        int n = keys.Length;
        if (_start.Length < keyCount) _start = new int[keyCount];
        Span<int> start = _start.AsSpan(0, keyCount);
        start.Clear();
        foreach (int k in keys) start[k]++;
        // Reserve for the worst case (every source its own row; only the first Groups rows are read), all three
        // ranges before taking spans (a reservation may move the host buffer).
        int most = Math.Min(n, keyCount);
        (Rows, Offsets, Sources) = (up.Add(most), up.Add(most + 1), up.Add(n));
        Span<int> rows = up.Host(Rows), offsets = up.Host(Offsets), sources = up.Host(Sources);
        int groups = 0, total = 0;
        for (int k = 0; k < keyCount; k++)
        {
            int count = start[k];
            if (count == 0) continue;
            rows[groups] = k;
            offsets[groups++] = total;
            start[k] = total;
            total += count;
        }
        offsets[groups] = total;
        Groups = groups;
        for (int i = 0; i < n; i++) sources[start[keys[i]]++] = i;
    }
}
