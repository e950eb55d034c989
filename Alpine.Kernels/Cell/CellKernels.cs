using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>Cell dimensions passed into every cell kernel (STYLE.md: dims named once).</summary>
public struct CellDims
{
    public int D, H;
    /// <summary>Gate sets × 4: 8 with the graph path (i,f,o,u,i*,f*,o*,u*), 4 for the plain LSTM (umg).</summary>
    public int G;
    public int TopL;
    /// <summary>1 when the graph path exists.</summary>
    public int Graph;
    /// <summary>1 for SPEC D5 <c>Carried</c> (c*_prev = c*_{t-1}), 0 for <c>Neighbor</c> (c*_prev = c_{t*}).</summary>
    public int Carried;
    /// <summary>Length of the persistent kernels' time loop (the longest sequence).</summary>
    public int MaxT;
    /// <summary>How many leading k-rows of WrT the persistent forward keeps in shared memory.</summary>
    public int SharedRows;
    public readonly int GH => G * H;
}

/// <summary>
/// Device views of one LSTM layer's sequences, weights and stored activations. N = total steps of the
/// <see cref="Alpine.Model.SequenceSet"/>; sequences are concatenated exactly as there.
/// </summary>
public struct CellViews
{
    public ArrayView<int> Offsets;   // (B+1)
    public ArrayView<int> Order;     // (B) sequence ids sorted by length, longest first
    public ArrayView<int> Active;    // (MaxT) sequences with length > t = a prefix of Order
    public ArrayView<int> GraphPred; // (N, L) positions within the sequence, -1 = none
    public ArrayView<float> WrT;     // (H, GH) column r < 4H: W_h[r,k]; r ≥ 4H: W*_h[r-4H,k]
    public ArrayView<float> Wh;      // (4H, H)
    public ArrayView<float> Wg;      // (4H, H); empty for umg
    public ArrayView<float> Gates;   // (N, GH) in: x-projection + bias; out: gate activations
    public ArrayView<float> C, Cs, Hs, HPrev, HStar, CsPrev; // (N, H) each
    public ArrayView<float> DH;      // (N, H) in: dL/dh from above; accumulates the recurrent fan-in
    public ArrayView<float> DC, DCs; // (N, H) zero on entry
    public ArrayView<float> DPre;    // (N, GH) out: dL/d(gate pre-activations)
}

/// <summary>The eight gate pre-activations of one hidden unit, summed over k.</summary>
internal struct GateSums
{
    public float I, F, O, U, Is, Fs, Os, Us;

    /// <summary>Adds column k of the fused recurrent weights (row at <paramref name="at"/>: unit j of gate i).</summary>
    public void Add(ArrayView<float> w, long at, int h, float hPrev, float hStar, int graph)
    {
        I += w[at] * hPrev; F += w[at + h] * hPrev; O += w[at + 2 * h] * hPrev; U += w[at + 3 * h] * hPrev;
        if (graph != 0)
        {
            Is += w[at + 4 * h] * hStar; Fs += w[at + 5 * h] * hStar; Os += w[at + 6 * h] * hStar; Us += w[at + 7 * h] * hStar;
        }
    }
}

/// <summary>
/// The fused dual-predecessor graph-LSTM cell (SPEC "Graph-LSTM cell", D4, D5) as ILGPU kernels.
/// A group owns one sequence at a step; thread tid owns hidden units tid, tid+groupSize, …, at every step,
/// so each value a thread reads from an earlier step (h, c, c*, the fan-in accumulators) was written by
/// the same thread: only the shared h_{t−1}/h* vectors and gate gradients need group barriers, and the
/// backward fan-in into t* needs no atomics.
/// </summary>
public static class CellKernels
{
    private static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>Forward of position p (global step n) of one sequence. sh: [0,H) h_{t−1}, [H,2H) h*,
    /// then the first d.SharedRows rows of WrT (persistent kernel only).</summary>
    private static void ForwardAt(int n, int p, CellDims d, CellViews v, ArrayView<float> sh, int sharedRows)
    {
        int tid = Group.IdxX, gs = Group.DimX, h = d.H, gh = d.GH;
        long nh = (long)n * h;
        for (int k = tid; k < h; k += gs)
        {
            float hp = p > 0 ? v.Hs[nh - h + k] : 0f;
            sh[k] = hp;
            v.HPrev[nh + k] = hp;
            if (d.Graph != 0)
            {
                // SPEC D4: h*, c* are means over the valid top-L graph predecessors (none at position 0).
                float hSum = 0f, cSum = 0f;
                int count = 0;
                for (int l = 0; l < d.TopL; l++)
                {
                    int q = v.GraphPred[(long)n * d.TopL + l];
                    if (q < 0) continue;
                    long m = (long)(n - p + q) * h + k;
                    hSum += v.Hs[m]; cSum += v.C[m]; count++;
                }
                float inv = count > 0 ? 1f / count : 0f;
                sh[h + k] = hSum * inv;
                v.HStar[nh + k] = hSum * inv;
                // SPEC D5: Neighbor reads c of the t* steps, Carried the graph cell of step t−1.
                v.CsPrev[nh + k] = d.Carried != 0 ? (p > 0 ? v.Cs[nh - h + k] : 0f) : cSum * inv;
            }
        }
        Group.Barrier();
        for (int j = tid; j < h; j += gs)
        {
            long row = (long)n * gh;
            var s = new GateSums
            {
                I = v.Gates[row + j], F = v.Gates[row + h + j], O = v.Gates[row + 2 * h + j], U = v.Gates[row + 3 * h + j],
            };
            if (d.Graph != 0)
            {
                s.Is = v.Gates[row + 4 * h + j]; s.Fs = v.Gates[row + 5 * h + j];
                s.Os = v.Gates[row + 6 * h + j]; s.Us = v.Gates[row + 7 * h + j];
            }
            for (int k = 0; k < sharedRows; k++)
                s.Add(sh, 2 * h + (long)k * gh + j, h, sh[k], sh[h + k], d.Graph);
            for (int k = sharedRows; k < h; k++)
                s.Add(v.WrT, (long)k * gh + j, h, sh[k], sh[h + k], d.Graph);

            float i = Sigmoid(s.I), f = Sigmoid(s.F), o = Sigmoid(s.O), u = XMath.Tanh(s.U);
            float cPrev = p > 0 ? v.C[nh - h + j] : 0f;
            float c = i * u + f * cPrev;
            float hOut = o * XMath.Tanh(c);
            v.Gates[row + j] = i; v.Gates[row + h + j] = f; v.Gates[row + 2 * h + j] = o; v.Gates[row + 3 * h + j] = u;
            v.C[nh + j] = c;
            if (d.Graph != 0)
            {
                float iS = Sigmoid(s.Is), fS = Sigmoid(s.Fs), oS = Sigmoid(s.Os), uS = XMath.Tanh(s.Us);
                float cS = iS * uS + fS * v.CsPrev[nh + j];
                hOut += oS * XMath.Tanh(cS);
                v.Gates[row + 4 * h + j] = iS; v.Gates[row + 5 * h + j] = fS;
                v.Gates[row + 6 * h + j] = oS; v.Gates[row + 7 * h + j] = uS;
                v.Cs[nh + j] = cS;
            }
            v.Hs[nh + j] = hOut;
        }
        Group.Barrier();
    }

    /// <summary>Backward of position p (global step n), reverse time. sh: [0,GH) dL/d(pre-activations).</summary>
    private static void BackwardAt(int n, int p, CellDims d, CellViews v, ArrayView<float> sh)
    {
        int tid = Group.IdxX, gs = Group.DimX, h = d.H, gh = d.GH;
        long nh = (long)n * h, row = (long)n * gh;
        for (int j = tid; j < h; j += gs)
        {
            float i = v.Gates[row + j], f = v.Gates[row + h + j], o = v.Gates[row + 2 * h + j], u = v.Gates[row + 3 * h + j];
            float cPrev = p > 0 ? v.C[nh - h + j] : 0f;
            float dh = v.DH[nh + j];
            float tc = XMath.Tanh(v.C[nh + j]);
            float dc = v.DC[nh + j] + dh * o * (1f - tc * tc);
            float gi = dc * u * i * (1f - i), gf = dc * cPrev * f * (1f - f);
            float go = dh * tc * o * (1f - o), gu = dc * i * (1f - u * u);
            v.DPre[row + j] = gi; v.DPre[row + h + j] = gf; v.DPre[row + 2 * h + j] = go; v.DPre[row + 3 * h + j] = gu;
            sh[j] = gi; sh[h + j] = gf; sh[2 * h + j] = go; sh[3 * h + j] = gu;
            if (p > 0) v.DC[nh - h + j] += dc * f;
            if (d.Graph != 0)
            {
                float iS = v.Gates[row + 4 * h + j], fS = v.Gates[row + 5 * h + j];
                float oS = v.Gates[row + 6 * h + j], uS = v.Gates[row + 7 * h + j];
                float tcS = XMath.Tanh(v.Cs[nh + j]);
                float dcS = dh * oS * (1f - tcS * tcS) + (d.Carried != 0 ? v.DCs[nh + j] : 0f);
                float gis = dcS * uS * iS * (1f - iS), gfs = dcS * v.CsPrev[nh + j] * fS * (1f - fS);
                float gos = dh * tcS * oS * (1f - oS), gus = dcS * iS * (1f - uS * uS);
                v.DPre[row + 4 * h + j] = gis; v.DPre[row + 5 * h + j] = gfs;
                v.DPre[row + 6 * h + j] = gos; v.DPre[row + 7 * h + j] = gus;
                sh[4 * h + j] = gis; sh[5 * h + j] = gfs; sh[6 * h + j] = gos; sh[7 * h + j] = gus;
                float dcsPrev = dcS * fS;
                if (d.Carried != 0) { if (p > 0) v.DCs[nh - h + j] = dcsPrev; }
                else FanIn(v.DC, n, p, d, v.GraphPred, j, dcsPrev);
            }
        }
        Group.Barrier();
        for (int k = tid; k < h; k += gs)
        {
            if (p > 0)
            {
                float sum = 0f;
                for (int r = 0; r < 4 * h; r++) sum += v.Wh[(long)r * h + k] * sh[r];
                v.DH[nh - h + k] += sum;
            }
            if (d.Graph != 0)
            {
                float sum = 0f;
                for (int r = 0; r < 4 * h; r++) sum += v.Wg[(long)r * h + k] * sh[4 * h + r];
                FanIn(v.DH, n, p, d, v.GraphPred, k, sum);
            }
        }
        Group.Barrier();
    }

    /// <summary>Adds g / (valid t* count) to unit j of every valid graph predecessor of step n (SPEC D4 mean).
    /// Only the thread owning unit j of this sequence writes there: no atomics (SPEC D13).</summary>
    private static void FanIn(ArrayView<float> target, int n, int p, CellDims d, ArrayView<int> graphPred, int j, float g)
    {
        int count = 0;
        for (int l = 0; l < d.TopL; l++) if (graphPred[(long)n * d.TopL + l] >= 0) count++;
        if (count == 0) return;
        float share = g / count;
        for (int l = 0; l < d.TopL; l++)
        {
            int q = graphPred[(long)n * d.TopL + l];
            if (q >= 0) target[(long)(n - p + q) * d.H + j] += share;
        }
    }

    /// <summary>One step t of all sequences active at t: group g handles sequence Order[g].</summary>
    public static void ForwardStep(int t, CellDims d, CellViews v)
    {
        int s = v.Order[Grid.IdxX];
        ForwardAt(v.Offsets[s] + t, t, d, v, SharedMemory.GetDynamic<float>(), 0);
    }

    /// <summary>
    /// All steps in one launch. Group g owns sorted sequences g, g+gridDim, … for the whole recurrence
    /// (independent sequences: no grid barrier) and keeps the first d.SharedRows k-rows of WrT in shared memory.
    /// </summary>
    public static void ForwardPersistent(CellDims d, CellViews v)
    {
        var sh = SharedMemory.GetDynamic<float>();
        int h = d.H, gh = d.GH, weights = d.SharedRows * gh;
        for (int e = Group.IdxX; e < weights; e += Group.DimX) sh[2 * h + e] = v.WrT[e];
        Group.Barrier();
        for (int t = 0; t < d.MaxT; t++)
            for (int q = Grid.IdxX; q < v.Active[t]; q += Grid.DimX)
            {
                int s = v.Order[q];
                ForwardAt(v.Offsets[s] + t, t, d, v, sh, d.SharedRows);
            }
    }

    /// <summary>Reverse step t of all sequences active at t.</summary>
    public static void BackwardStep(int t, CellDims d, CellViews v)
    {
        int s = v.Order[Grid.IdxX];
        BackwardAt(v.Offsets[s] + t, t, d, v, SharedMemory.GetDynamic<float>());
    }

    /// <summary>All reverse steps in one launch; group ownership as in <see cref="ForwardPersistent"/>.</summary>
    public static void BackwardPersistent(CellDims d, CellViews v)
    {
        var sh = SharedMemory.GetDynamic<float>();
        for (int t = d.MaxT - 1; t >= 0; t--)
            for (int q = Grid.IdxX; q < v.Active[t]; q += Grid.DimX)
            {
                int s = v.Order[q];
                BackwardAt(v.Offsets[s] + t, t, d, v, sh);
            }
    }
}
