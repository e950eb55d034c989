using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>A device buffer that grows only when a larger shape arrives (STYLE.md: allocate once per shape).</summary>
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
            _buffer?.Dispose();
            _buffer = _accelerator.Allocate1D<T>(Math.Max(length, 1));
        }
        return _buffer.View.SubView(0, length);
    }

    public ArrayView<T> View => _buffer is null ? default : _buffer.View;

    public void Dispose() { _buffer?.Dispose(); _buffer = null; }
}
