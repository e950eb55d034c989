using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Device;

/// <summary>
/// A device buffer that grows only when a larger shape arrives (STYLE.md: allocate once per shape), by at least
/// half its size: SharedPrefix batches end at user boundaries, so their sizes wander, and every regrowth is a free
/// (which waits for the device) and a fresh allocation; growing geometrically bounds them to a handful per buffer.
/// </summary>
public sealed class DeviceArray<T> : IDisposable where T : unmanaged
{
    private readonly Accelerator _accelerator;
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    public DeviceArray(Accelerator accelerator, long length = 0) { _accelerator = accelerator; if (length > 0) Ensure(length); }

    /// <summary>A view of exactly <paramref name="length"/> elements; contents are kept only when no growth was needed.</summary>
    public ArrayView<T> Ensure(long length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            long grown = _buffer is null ? 1 : _buffer.Length + _buffer.Length / 2;
            _buffer?.Dispose();
            _buffer = _accelerator.Allocate1D<T>(Math.Max(length, grown));
        }
        return _buffer.View.SubView(0, length);
    }

    public ArrayView<T> View => _buffer is null ? default : _buffer.View;

    public void Dispose() { _buffer?.Dispose(); _buffer = null; }
}
