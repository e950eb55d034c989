using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Attention;

/// <summary>
/// Device views of one attention call (SPEC D7): b targets, each pooling its window of rows of hs. Target t's
/// window is the len_t = AlphaOffset[t+1] − AlphaOffset[t] rows from RowStart[t]; its weights are
/// Alpha[AlphaOffset[t] ..), the same concatenation as <c>CpuModel.SequenceBranch</c>.
/// </summary>
public struct AttentionViews
{
    public int B, H;
    /// <summary>Row stride of U and DU: f_t lives at U[t·UStride .. +H) (the head input [f ; x_new]).</summary>
    public int UStride;
    public ArrayView<float> U;           // (B, UStride) f in the first H columns
    public ArrayView<float> Alpha;       // (ΣLen) softmax weights
    public ArrayView<float> Hs;          // (N, H) hidden states of every position
    public ArrayView<float> Q;           // (B, H) queries
    public ArrayView<int> AlphaOffset;   // (B+1)
    public ArrayView<int> RowStart;      // (B) first row of each window in Hs
}

/// <summary>Device views the attention backward adds to <see cref="AttentionViews"/>.</summary>
public struct AttentionGradViews
{
    /// <summary>Rows of Hs (and DHs, RowSequence).</summary>
    public int N;
    /// <summary>The longest window (max over targets of len_t): a target covering row r starts after r − MaxWindow.</summary>
    public int MaxWindow;
    public ArrayView<float> DU;          // (B, UStride) df in the first H columns
    public ArrayView<float> Ds;          // (ΣLen) dL/ds per (target, position), laid out like Alpha
    public ArrayView<float> DQ;          // (B, H) assigned
    public ArrayView<float> DHs;         // (N, H) accumulated
    public ArrayView<int> RowSequence;   // (N) sequence of each row
    public ArrayView<int> Order;         // (B) targets grouped by sequence; within one, by window start, then target
    public ArrayView<int> SeqTargets;    // (S+1) sequence s owns Order[SeqTargets[s] .. SeqTargets[s+1])
}

/// <summary>
/// Attention pooling and its backward as ILGPU kernels, the twins of <c>Alpine.Cpu.Attention</c>. A group owns
/// one target in the forward and in the per-target half of the backward; the fan-in into the shared rows of hs
/// runs per (row, column) over the row's sequence's targets in target order, so no sum depends on scheduling
/// and no atomics are needed (SPEC D13).
/// </summary>
public static class AttentionKernels
{
    public const int GroupSize = 64;

    public static KernelConfig PerTarget(int b) => new(b, GroupSize);

    /// <summary>
    /// One group per target: s_j = h_j·q, α = softmax(s) shifted by its maximum, f = Σ_j α_j h_j (0 for an
    /// empty window). Each score is one warp's dot over a row (lanes along k, so loads coalesce); the maximum and
    /// the sum are fixed-shape tree reductions, and each f_k is summed over positions in order by one thread.
    /// </summary>
    public static void Forward(AttentionViews v)
    {
        var red = SharedMemory.Allocate<float>(GroupSize);
        int t = Grid.IdxX, tid = Group.IdxX, h = v.H, warps = GroupSize / Warp.WarpSize;
        int off = v.AlphaOffset[t], n = v.AlphaOffset[t + 1] - off;
        long row0 = v.RowStart[t], fAt = (long)t * v.UStride, qAt = (long)t * h;

        float localMax = float.NegativeInfinity;
        for (int j = Warp.WarpIdx; j < n; j += warps)
        {
            float s = WarpDot(v.Hs, (row0 + j) * h, v.Q, qAt, h);
            if (Warp.IsFirstLane) v.Alpha[off + j] = s;
            localMax = XMath.Max(localMax, s);
        }
        float max = Reduce(red, localMax, tid, max: true);
        float localSum = 0f;
        for (int j = tid; j < n; j += GroupSize)
        {
            float e = XMath.Exp(v.Alpha[off + j] - max);
            v.Alpha[off + j] = e;
            localSum += e;
        }
        float sum = Reduce(red, localSum, tid, max: false);
        for (int j = tid; j < n; j += GroupSize) v.Alpha[off + j] = v.Alpha[off + j] / sum;
        Group.Barrier(); // every α_j of the window is written before any f_k reads them all

        for (int k = tid; k < h; k += GroupSize) v.U[fAt + k] = Pool(v.Alpha, off, n, v.Hs, row0, h, k);
    }

    /// <summary>
    /// Backward, per-target half (one group per target): ds_j = α_j (df·h_j − df·f) into Ds, then
    /// dq_k = Σ_j ds_j h_jk (assigned; 0 for an empty window), each sum in position order.
    /// </summary>
    public static void BackwardTargets(AttentionViews v, AttentionGradViews g)
    {
        int t = Grid.IdxX, tid = Group.IdxX, h = v.H, warps = GroupSize / Warp.WarpSize;
        int off = v.AlphaOffset[t], n = v.AlphaOffset[t + 1] - off;
        long row0 = v.RowStart[t], fAt = (long)t * v.UStride;
        // Each warp forms df·f itself (the same lanes, the same tree: every warp gets the same bits).
        float dff = WarpDot(g.DU, fAt, v.U, fAt, h);
        for (int j = Warp.WarpIdx; j < n; j += warps)
        {
            float ds = v.Alpha[off + j] * (WarpDot(g.DU, fAt, v.Hs, (row0 + j) * h, h) - dff);
            if (Warp.IsFirstLane) g.Ds[off + j] = ds;
        }
        Group.Barrier(); // the whole window's ds before dq reads it

        for (int k = tid; k < h; k += GroupSize) g.DQ[(long)t * h + k] = Pool(g.Ds, off, n, v.Hs, row0, h, k);
    }

    /// <summary>
    /// Backward, fan-in half: one thread per element (row, k) of dhs adds α_tj df_tk + ds_tj q_tk for every
    /// target t of the row's sequence whose window covers the row (j = row − RowStart[t]), in the fixed order of
    /// Order (window start, then target: the CPU's target order whenever a user's targets come in time order).
    /// Windows of a SharedPrefix sequence overlap (SPEC D12); rows of different sequences never do, so a thread
    /// only looks at its own sequence's targets, and of those only the ones starting in (row − MaxWindow, row]:
    /// two binary searches over the start-sorted list find them, so a row visits ~W/stride targets, not the
    /// ~100 of its user (SharedPrefix at Dataset I's shape).
    /// </summary>
    public static void BackwardRows(Index1D e, AttentionViews v, AttentionGradViews g)
    {
        int h = v.H;
        int row = (int)(e / h), k = (int)(e % h);
        int s = g.RowSequence[row];
        float acc = g.DHs[e];
        int first = FirstStartAtLeast(v, g, g.SeqTargets[s], g.SeqTargets[s + 1], row - g.MaxWindow + 1);
        int last = FirstStartAtLeast(v, g, first, g.SeqTargets[s + 1], row + 1);
        for (int i = first; i < last; i++)
        {
            int t = g.Order[i];
            int off = v.AlphaOffset[t], j = row - v.RowStart[t];
            if (j < 0 || j >= v.AlphaOffset[t + 1] - off) continue;
            acc += v.Alpha[off + j] * g.DU[(long)t * v.UStride + k];
            acc += g.Ds[off + j] * v.Q[(long)t * h + k];
        }
        g.DHs[e] = acc;
    }

    /// <summary>The first i in [lo, hi) with RowStart[Order[i]] ≥ start (hi if none); Order is sorted by start there.</summary>
    private static int FirstStartAtLeast(AttentionViews v, AttentionGradViews g, int lo, int hi, int start)
    {
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (v.RowStart[g.Order[mid]] < start) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// a[aAt ..+h) · b[bAt ..+h) by one warp: lane l sums k = l, l + 32, … in order, then a butterfly of
    /// xor-shuffles adds the lanes. Float addition is commutative, so partners form the same bits and every lane
    /// returns the same value; the tree is fixed, so the value is the same every run (SPEC D13).
    /// </summary>
    private static float WarpDot(ArrayView<float> a, long aAt, ArrayView<float> b, long bAt, int h)
    {
        float sum = 0f;
        for (int k = Warp.LaneIdx; k < h; k += Warp.WarpSize) sum += a[aAt + k] * b[bAt + k];
        for (int mask = Warp.WarpSize / 2; mask > 0; mask /= 2) sum += Warp.ShuffleXor(sum, mask);
        return sum;
    }

    /// <summary>Σ_j w[off+j] · hs[row0+j, k] over the n window positions, in position order.</summary>
    private static float Pool(ArrayView<float> w, int off, int n, ArrayView<float> hs, long row0, int h, int k)
    {
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += w[off + j] * hs[(row0 + j) * h + k];
        return sum;
    }

    /// <summary>The group's maximum (or sum) of x: a fixed tree over shared memory, so every run pairs the same values.</summary>
    private static float Reduce(ArrayView<float> red, float x, int tid, bool max)
    {
        Group.Barrier(); // an earlier reduction's result has been read by every thread
        red[tid] = x;
        Group.Barrier();
        for (int half = GroupSize / 2; half > 0; half /= 2)
        {
            if (tid < half) red[tid] = max ? XMath.Max(red[tid], red[tid + half]) : red[tid] + red[tid + half];
            Group.Barrier();
        }
        return red[0];
    }
}
