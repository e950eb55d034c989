using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>One prediction head (twin of <c>Alpine.Cpu.Mlp</c>): z = ReLU(W1 u + b1), y = W2 z + b2.</summary>
public sealed class GpuMlp : IDisposable
{
    private readonly KernelSet _kernels;

    public GpuMlp(KernelSet kernels) { _kernels = kernels; }

    /// <summary>y (R), z (R, M) kept for backward, u (R, I); w1 (M, I), b1 (M), w2 (1, M), b2 (1).</summary>
    public void Forward(ArrayView<float> y, ArrayView<float> z, ArrayView<float> u, int rows, int inputs, int hidden,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2) => throw new NotImplementedException();

    /// <summary>du (R, I) ASSIGNED; dw1, db1, dw2, db2 ACCUMULATED (+=); dz (R, M) scratch owned by the caller.</summary>
    public void Backward(ArrayView<float> du, ArrayView<float> dw1, ArrayView<float> db1, ArrayView<float> dw2, ArrayView<float> db2,
        ArrayView<float> dz, ArrayView<float> dy, ArrayView<float> z, ArrayView<float> u, int rows, int inputs, int hidden,
        ArrayView<float> w1, ArrayView<float> w2) => throw new NotImplementedException();

    public void Dispose() { }
}
