using Alpine.Kernels.Device;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Attention;

/// <summary>
/// Attention pooling of every target of a batch over its window of hidden states (SPEC D7), the twin of
/// <c>Alpine.Cpu.Attention</c> applied to all targets as <c>CpuModel.SequenceBranch</c> does. The query is made
/// by the caller (bilinear W_a x_new or x_new/√H), so both attention kinds share this class.
/// </summary>
public sealed class GpuAttention : IDisposable
{
    private readonly KernelSet _kernels;
    // ds per (target, position), laid out like α: written by the per-target backward, read by the fan-in.
    private readonly DeviceArray<float> _ds;
    // A one-element stand-in for views a call may leave empty (N = 0), so no kernel argument is a null view.
    private readonly DeviceArray<float> _emptyF;
    private readonly DeviceArray<int> _emptyI;

    public GpuAttention(KernelSet kernels)
    {
        _kernels = kernels;
        _ds = new DeviceArray<float>(kernels.Accelerator);
        _emptyF = new DeviceArray<float>(kernels.Accelerator, 1);
        _emptyI = new DeviceArray<int>(kernels.Accelerator, 1);
    }

    /// <summary>
    /// Target t (0 ≤ t &lt; b) reads the len_t = alphaOffset[t+1] − alphaOffset[t] rows hs[rowStart[t] .. rowStart[t]+len_t)
    /// of hs (N, H); it writes f_t (H) to u[t·uStride .. +H) and α_t to alpha[alphaOffset[t] ..). An empty window gives f = 0.
    /// q is (b, H).
    /// </summary>
    public void Forward(int b, int h, ArrayView<float> u, int uStride, ArrayView<float> alpha, ArrayView<int> alphaOffset,
        ArrayView<int> rowStart, ArrayView<float> hs, ArrayView<float> q)
    {
        if (b == 0) return;
        _kernels.AttentionForward(AttentionKernels.PerTarget(b), Views(b, h, u, uStride, alpha, alphaOffset, rowStart, hs, q));
    }

    /// <summary>
    /// Backward of the latest Forward: df_t = du[t·uStride .. +H); f_t = u[t·uStride .. +H) (as Forward left it).
    /// dhs (N, H) is ACCUMULATED (+=): in SharedPrefix mode many targets' windows overlap on one sequence's rows;
    /// dq (b, H) is assigned. N is the length of <paramref name="rowSequence"/>, which gives each row's sequence;
    /// the targets of sequence s are order[seqTargets[s] .. seqTargets[s+1]), sorted by window start and then by
    /// target (<see cref="SortByStart"/>), and no window is longer than <paramref name="maxWindow"/>: each row's
    /// sum runs over the targets covering it in that order, found by binary search, without atomics (SPEC D13).
    /// </summary>
    public void Backward(int b, int h, ArrayView<float> dhs, ArrayView<float> dq, ArrayView<float> du, ArrayView<float> u, int uStride,
        ArrayView<float> alpha, ArrayView<int> alphaOffset, ArrayView<int> rowStart, ArrayView<int> rowSequence,
        ArrayView<int> order, ArrayView<int> seqTargets, int maxWindow, ArrayView<float> hs, ArrayView<float> q)
    {
        if (b == 0) return;
        int n = (int)rowSequence.Length;
        System.Diagnostics.Debug.Assert(dhs.Length >= (long)n * h && dq.Length >= (long)b * h);
        var v = Views(b, h, u, uStride, alpha, alphaOffset, rowStart, hs, q);
        var g = new AttentionGradViews
        {
            N = n, MaxWindow = maxWindow, DU = du, DQ = dq, Ds = _ds.Ensure(Math.Max(1, alpha.Length)),
            DHs = Valid(dhs), RowSequence = Valid(rowSequence), Order = order, SeqTargets = seqTargets,
        };
        _kernels.AttentionBackwardTargets(AttentionKernels.PerTarget(b), v, g);
        if (n > 0) _kernels.AttentionBackwardRows(n * h, v, g);
    }

    /// <summary>
    /// Sorts each sequence's part order[seqTargets[s] .. seqTargets[s+1]) (targets in target order) by window start
    /// (rowStart[t]), ties in target order: the order <see cref="Backward"/> needs. <paramref name="key"/> is scratch
    /// of at least order.Length; allocates nothing.
    /// </summary>
    public static void SortByStart(Span<int> order, ReadOnlySpan<int> seqTargets, ReadOnlySpan<int> rowStart, Span<long> key)
    {
        for (int s = 0; s + 1 < seqTargets.Length; s++)
        {
            int lo = seqTargets[s], n = seqTargets[s + 1] - lo;
            if (n < 2) continue;
            Span<int> part = order.Slice(lo, n);
            Span<long> k = key.Slice(lo, n);
            bool sorted = true;
            for (int i = 0; i < n; i++)
            {
                // (start, target): distinct, so the unstable sort is exact.
                k[i] = ((long)rowStart[part[i]] << 32) | (uint)part[i];
                if (i > 0 && k[i] < k[i - 1]) sorted = false;
            }
            if (!sorted) k.Sort(part);
        }
    }

    private AttentionViews Views(int b, int h, ArrayView<float> u, int uStride, ArrayView<float> alpha, ArrayView<int> alphaOffset,
        ArrayView<int> rowStart, ArrayView<float> hs, ArrayView<float> q) =>
        new() { B = b, H = h, UStride = uStride, U = u, Alpha = Valid(alpha), Hs = Valid(hs), Q = q, AlphaOffset = alphaOffset, RowStart = rowStart };

    private ArrayView<float> Valid(ArrayView<float> view) => view.IsValid && view.Length > 0 ? view : _emptyF.View;
    private ArrayView<int> Valid(ArrayView<int> view) => view.IsValid && view.Length > 0 ? view : _emptyI.View;

    public void Dispose() { _ds.Dispose(); _emptyF.Dispose(); _emptyI.Dispose(); }
}
