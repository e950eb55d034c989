using Alpine.Kernels.Device;
using Alpine.Kernels.Gemm;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Mlp;

/// <summary>
/// One prediction head on the device (SPEC D8), the twin of <c>Alpine.Cpu.Mlp</c>: z = ReLU(W1 u + b1),
/// y = W2 z + b2. The products (the ReLU folded into the first one's store) are <see cref="KernelSet.RunGemm"/> calls whose strides express the transposes;
/// bias gradients are <see cref="KernelSet.AddColumnSumsOf"/>. Every sum runs in a fixed order (SPEC D13).
/// </summary>
public sealed class GpuMlp : IDisposable
{
    private readonly KernelSet _kernels;

    public GpuMlp(KernelSet kernels) { _kernels = kernels; }

    /// <summary>y (R), z (R, M) kept for backward, u (R, I); w1 (M, I), b1 (M), w2 (1, M), b2 (1).</summary>
    public void Forward(ArrayView<float> y, ArrayView<float> z, ArrayView<float> u, int rows, int inputs, int hidden,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2)
    {
        if (rows == 0) return;
        // z = ReLU(u·W1ᵀ + b1): B(k, n) = W1[n, k]; the ReLU in the product's store (one launch less).
        _kernels.RunGemm(new GemmDims { M = rows, N = hidden, K = inputs, Sam = inputs, Sak = 1, Sbk = 1, Sbn = inputs, Ldc = hidden, HasBias = 1, Relu = 1 },
            u, w1, b1, z);
        // y = z·W2ᵀ + b2: one output column.
        _kernels.RunGemm(new GemmDims { M = rows, N = 1, K = hidden, Sam = hidden, Sak = 1, Sbk = 1, Sbn = hidden, Ldc = 1, HasBias = 1 },
            z, w2, b2, y);
    }

    /// <summary>du (R, I) ASSIGNED; dw1, db1, dw2, db2 ACCUMULATED (+=); dz (R, M) scratch owned by the caller.</summary>
    public void Backward(ArrayView<float> du, ArrayView<float> dw1, ArrayView<float> db1, ArrayView<float> dw2, ArrayView<float> db2,
        ArrayView<float> dz, ArrayView<float> dy, ArrayView<float> z, ArrayView<float> u, int rows, int inputs, int hidden,
        ArrayView<float> w1, ArrayView<float> w2)
    {
        // No rows: du is empty and every weight gradient gains nothing.
        if (rows == 0) return;
        _kernels.ReluGrad(rows * hidden, hidden, dz, dy, z, w2);
        // dW2 += dyᵀ·z (1, M), db2 += Σ_r dy.
        _kernels.RunGemm(new GemmDims { M = 1, N = hidden, K = rows, Sam = rows, Sak = 1, Sbk = hidden, Sbn = 1, Ldc = hidden, Accumulate = 1 },
            dy, z, default, dw2);
        _kernels.AddColumnSumsOf(dy, rows, 1, db2);
        // du = dz·W1 (assigned), dW1 += dzᵀ·u, db1 += Σ_r dz.
        _kernels.RunGemm(new GemmDims { M = rows, N = inputs, K = hidden, Sam = hidden, Sak = 1, Sbk = inputs, Sbn = 1, Ldc = inputs },
            dz, w1, default, du);
        _kernels.RunGemm(new GemmDims { M = hidden, N = inputs, K = rows, Sam = 1, Sak = hidden, Sbk = inputs, Sbn = 1, Ldc = inputs, Accumulate = 1 },
            dz, u, default, dw1);
        _kernels.AddColumnSumsOf(dz, rows, hidden, db1);
    }

    /// <summary>Owns no device memory (the caller owns every buffer); kept disposable so the contract can grow scratch.</summary>
    public void Dispose() { }
}
