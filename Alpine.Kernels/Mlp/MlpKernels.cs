using Alpine.Kernels.Gemm;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Mlp;

/// <summary>The element-wise backward step of an MLP head (SPEC D8) between its two products, which run on
/// <see cref="GemmKernels"/> (the forward's ReLU is <see cref="GemmDims.Relu"/>).</summary>
public static class MlpKernels
{
    /// <summary>dz[r, k] = dy[r]·w2[k] where z[r, k] &gt; 0, else 0: the gradient through the second product and
    /// the ReLU, one thread per element of the (R, M) scratch.</summary>
    public static void ReluGrad(Index1D e, int hidden, ArrayView<float> dz, ArrayView<float> dy, ArrayView<float> z, ArrayView<float> w2)
    {
        dz[e] = z[e] > 0f ? dy[e / hidden] * w2[e % hidden] : 0f;
    }
}
