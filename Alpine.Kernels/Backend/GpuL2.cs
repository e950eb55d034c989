using Alpine.Kernels.Device;
using Alpine.Model;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>
/// The L2 term on the device (SPEC "Loss"; twin of <see cref="Loss.L2Forward{T}"/> / <see cref="Loss.L2Backward{T}"/>):
/// the Weight and Recurrent tensors of a layout cut once into chunks of at most <see cref="LossKernels.Chunk"/>
/// elements, so one launch covers every tensor. The value is per-chunk partials summed on the host in float64 in
/// chunk order (deterministic, SPEC D13).
/// </summary>
public sealed class GpuL2 : IDisposable
{
    private readonly KernelSet _k;
    private readonly float _lambda;
    private readonly DeviceArray<int> _offset, _length;

    public GpuL2(KernelSet kernels, ParameterLayout layout, float lambda)
    {
        _k = kernels; _lambda = lambda;
        var offsets = new List<int>();
        var lengths = new List<int>();
        foreach (TensorSlot s in layout.Slots)
            if (Loss.HasL2(s))
                for (int i = 0; i < s.Size; i += LossKernels.Chunk) { offsets.Add(s.Offset + i); lengths.Add(Math.Min(LossKernels.Chunk, s.Size - i)); }
        Chunks = offsets.Count;
        Accelerator a = kernels.Accelerator;
        (_offset, _length) = (new(a), new(a));
        _offset.Ensure(Chunks).CopyFromCPU(offsets.ToArray());
        _length.Ensure(Chunks).CopyFromCPU(lengths.ToArray());
        if (lambda == 0) Chunks = 0; // nothing to launch, nothing to bring down
    }

    /// <summary>Partials per chunk (0 when λ = 0): the length of the view <see cref="Launch"/> fills.</summary>
    public int Chunks { get; }
    private bool Off => Chunks == 0;

    /// <summary>Queues Σw² per chunk of the L2 tensors of <paramref name="p"/> (the flat parameters) into
    /// <paramref name="partial"/> (Chunks); the caller brings them down with its own copy (the logits').</summary>
    public void Launch(ArrayView<float> p, ArrayView<float> partial)
    {
        if (Off) return;
        _k.L2SumPartial(new KernelConfig(Chunks, LossKernels.GroupSize), _offset.View, _length.View, p, partial);
    }

    /// <summary>λ·½·Σw² from the partials <see cref="Launch"/> wrote, summed in float64 in chunk order.</summary>
    public double Value(ReadOnlySpan<float> partial)
    {
        if (Off) return 0;
        double sum = 0;
        foreach (float s in partial) sum += s;
        return 0.5 * _lambda * sum;
    }

    /// <summary>g += λ·w over the L2 tensors.</summary>
    public void Backward(ArrayView<float> g, ArrayView<float> p)
    {
        if (Off) return;
        _k.L2Backward(Chunks * LossKernels.Chunk, _lambda, _offset.View, _length.View, p, g);
    }

    public void Dispose() { _offset.Dispose(); _length.Dispose(); }
}
