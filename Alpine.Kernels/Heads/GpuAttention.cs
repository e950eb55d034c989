using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>Attention pooling of every target of a batch over its window of hidden states (twin of <c>Alpine.Cpu.Attention</c>).</summary>
public sealed class GpuAttention : IDisposable
{
    private readonly KernelSet _kernels;

    public GpuAttention(KernelSet kernels) { _kernels = kernels; }

    /// <summary>
    /// Target t (0 ≤ t &lt; b) reads the len_t = alphaOffset[t+1] − alphaOffset[t] rows hs[rowStart[t] .. rowStart[t]+len_t)
    /// of hs (N, H); it writes f_t (H) to u[t·uStride .. +H) and α_t to alpha[alphaOffset[t] ..). An empty window gives f = 0.
    /// q is (b, H).
    /// </summary>
    public void Forward(int b, int h, ArrayView<float> u, int uStride, ArrayView<float> alpha, ArrayView<int> alphaOffset,
        ArrayView<int> rowStart, ArrayView<float> hs, ArrayView<float> q) => throw new NotImplementedException();

    /// <summary>
    /// Backward of the latest Forward: df_t = du[t·uStride .. +H); f_t = u[t·uStride .. +H) (as Forward left it).
    /// dhs (N, H) is ACCUMULATED (+=); dq (b, H) is assigned. rowSequence (N) gives each row's sequence and the
    /// targets of sequence s are order[seqTargets[s] .. seqTargets[s+1]) in increasing target order.
    /// </summary>
    public void Backward(int b, int h, ArrayView<float> dhs, ArrayView<float> dq, ArrayView<float> du, ArrayView<float> u, int uStride,
        ArrayView<float> alpha, ArrayView<int> alphaOffset, ArrayView<int> rowStart, ArrayView<int> rowSequence,
        ArrayView<int> order, ArrayView<int> seqTargets, ArrayView<float> hs, ArrayView<float> q) => throw new NotImplementedException();

    public void Dispose() { }
}
