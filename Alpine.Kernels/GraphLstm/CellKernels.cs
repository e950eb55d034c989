using Alpine.Prep;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.GraphLstm;

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
    /// <summary>Sequences a group computes together at a step (1..<see cref="CellKernels.MaxTile"/>): each weight
    /// loaded from memory is used for all of them.</summary>
    public int SeqTile;
    public readonly int GH => G * H;
}

/// <summary>
/// Device views of one LSTM layer's sequences, weights and stored activations. N = total steps of the
/// <see cref="Alpine.Prep.SequenceSet"/>; sequences are concatenated exactly as there.
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

/// <summary>Column k of the fused recurrent weights for hidden unit j: one value per gate.</summary>
internal struct Weights8
{
    public float I, F, O, U, Is, Fs, Os, Us;

    public static Weights8 Load(ArrayView<float> w, long at, int h, int graph)
    {
        var r = new Weights8 { I = w[at], F = w[at + h], O = w[at + 2 * h], U = w[at + 3 * h] };
        if (graph != 0) { r.Is = w[at + 4 * h]; r.Fs = w[at + 5 * h]; r.Os = w[at + 6 * h]; r.Us = w[at + 7 * h]; }
        return r;
    }
}

/// <summary>The eight gate pre-activations of one hidden unit of one sequence, summed over k.</summary>
internal struct GateSums
{
    public float I, F, O, U, Is, Fs, Os, Us;

    /// <summary>Starts from the x-projection + bias row of step n.</summary>
    public static GateSums Start(ArrayView<float> gates, long row, int j, int h, int graph)
    {
        var s = new GateSums { I = gates[row + j], F = gates[row + h + j], O = gates[row + 2 * h + j], U = gates[row + 3 * h + j] };
        if (graph != 0)
        {
            s.Is = gates[row + 4 * h + j]; s.Fs = gates[row + 5 * h + j]; s.Os = gates[row + 6 * h + j]; s.Us = gates[row + 7 * h + j];
        }
        return s;
    }

    public void Add(Weights8 w, float hPrev, float hStar)
    {
        I += w.I * hPrev; F += w.F * hPrev; O += w.O * hPrev; U += w.U * hPrev;
        Is += w.Is * hStar; Fs += w.Fs * hStar; Os += w.Os * hStar; Us += w.Us * hStar;
    }
}

/// <summary>The gate sums of one hidden unit for every sequence of a tile (up to <see cref="CellKernels.MaxTile"/>).</summary>
internal struct TileSums
{
    public GateSums S0, S1, S2, S3;

    /// <summary>Adds k-rows [kFrom, kTo) of the weights at <c>w[at + k·gh]</c>; h_{t−1} of slot q is sh[q·H + k],
    /// h* is sh[(MaxTile + q)·H + k].</summary>
    public void Accumulate(ArrayView<float> w, long at, int kFrom, int kTo, int gh, int h, int graph, int count, ArrayView<float> sh)
    {
        int star = CellKernels.MaxTile * h;
        for (int k = kFrom; k < kTo; k++)
        {
            var wk = Weights8.Load(w, at + (long)k * gh, h, graph);
            S0.Add(wk, sh[k], sh[star + k]);
            if (count > 1) S1.Add(wk, sh[h + k], sh[star + h + k]);
            if (count > 2) S2.Add(wk, sh[2 * h + k], sh[star + 2 * h + k]);
            if (count > 3) S3.Add(wk, sh[3 * h + k], sh[star + 3 * h + k]);
        }
    }
}

/// <summary>
/// The fused dual-predecessor graph-LSTM cell (SPEC "Graph-LSTM cell", D4, D5) as ILGPU kernels.
/// A group computes a tile of up to <see cref="MaxTile"/> sequences (consecutive in the sorted order) at a step,
/// so each recurrent weight it loads serves the whole tile. Each sequence belongs to exactly one group; inside
/// a step, phase 1 (gathers, or gate gradients) and phase 2 (products, or the transposed products) are
/// separated by group barriers, and within a phase every output element has exactly one writer, so the backward
/// fan-in into the t* states needs no atomics (SPEC D13).
/// </summary>
public static class CellKernels
{
    /// <summary>Largest sequence tile per group (register budget: 8 gate sums per sequence per thread).</summary>
    public const int MaxTile = 4;

    private static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>Global step of slot q of the tile at step t.</summary>
    private static int StepOf(CellViews v, int first, int q, int t) => v.Offsets[v.Order[first + q]] + t;

    /// <summary>Shared floats the forward needs besides the weights: h_{t−1} and h* per tile slot.</summary>
    public static int ForwardSharedFloats(int h) => 2 * MaxTile * h;

    /// <summary>
    /// Forward of step t of sorted sequences [first, first+count). sh: [0, MaxTile·H) h_{t−1} per slot,
    /// [MaxTile·H, 2·MaxTile·H) h* per slot, then the first <paramref name="sharedRows"/> k-rows of WrT.
    /// </summary>
    private static void ForwardTile(int first, int count, int t, CellDims d, CellViews v, ArrayView<float> sh, int sharedRows)
    {
        int tid = Group.IdxX, gs = Group.DimX, h = d.H, gh = d.GH, star = MaxTile * h;
        for (int e = tid; e < count * h; e += gs)
        {
            int q = e / h, k = e % h;
            int n = StepOf(v, first, q, t);
            long nh = (long)n * h;
            float hp = t > 0 ? v.Hs[nh - h + k] : 0f;
            sh[q * h + k] = hp;
            v.HPrev[nh + k] = hp;
            if (d.Graph != 0)
            {
                // SPEC D4: h*, c* are means over the valid top-L graph predecessors (none at position 0).
                float hSum = 0f, cSum = 0f;
                int valid = 0;
                for (int l = 0; l < d.TopL; l++)
                {
                    int pos = v.GraphPred[(long)n * d.TopL + l];
                    if (pos < 0) continue;
                    long m = (long)(n - t + pos) * h + k;
                    hSum += v.Hs[m]; cSum += v.C[m]; valid++;
                }
                float inv = valid > 0 ? 1f / valid : 0f;
                sh[star + q * h + k] = hSum * inv;
                v.HStar[nh + k] = hSum * inv;
                // SPEC D5: Neighbor reads c of the t* steps, Carried the graph cell of step t−1.
                v.CsPrev[nh + k] = d.Carried != 0 ? (t > 0 ? v.Cs[nh - h + k] : 0f) : cSum * inv;
            }
        }
        Group.Barrier();
        int n0 = StepOf(v, first, 0, t);
        int n1 = count > 1 ? StepOf(v, first, 1, t) : n0, n2 = count > 2 ? StepOf(v, first, 2, t) : n0, n3 = count > 3 ? StepOf(v, first, 3, t) : n0;
        for (int j = tid; j < h; j += gs)
        {
            var sums = new TileSums { S0 = GateSums.Start(v.Gates, (long)n0 * gh, j, h, d.Graph) };
            if (count > 1) sums.S1 = GateSums.Start(v.Gates, (long)n1 * gh, j, h, d.Graph);
            if (count > 2) sums.S2 = GateSums.Start(v.Gates, (long)n2 * gh, j, h, d.Graph);
            if (count > 3) sums.S3 = GateSums.Start(v.Gates, (long)n3 * gh, j, h, d.Graph);
            sums.Accumulate(sh, 2 * star + j, 0, sharedRows, gh, h, d.Graph, count, sh);
            sums.Accumulate(v.WrT, j, sharedRows, h, gh, h, d.Graph, count, sh);
            FinishUnit(n0, t, j, sums.S0, d, v);
            if (count > 1) FinishUnit(n1, t, j, sums.S1, d, v);
            if (count > 2) FinishUnit(n2, t, j, sums.S2, d, v);
            if (count > 3) FinishUnit(n3, t, j, sums.S3, d, v);
        }
        Group.Barrier();
    }

    /// <summary>All 8 non-linearities, c_t, c*_t and h_t of unit j at step n (position t); stores the activations.</summary>
    private static void FinishUnit(int n, int t, int j, GateSums s, CellDims d, CellViews v)
    {
        int h = d.H;
        long nh = (long)n * h, row = (long)n * d.GH;
        float i = Sigmoid(s.I), f = Sigmoid(s.F), o = Sigmoid(s.O), u = XMath.Tanh(s.U);
        float cPrev = t > 0 ? v.C[nh - h + j] : 0f;
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

    /// <summary>Shared floats the backward needs: the gate gradients of every tile slot.</summary>
    public static int BackwardSharedFloats(int gh, int seqTile) => seqTile * gh;

    /// <summary>Backward of step t (reverse time) of sorted sequences [first, first+count). sh: dL/d(pre-activations)
    /// of slot q at [q·GH, (q+1)·GH).</summary>
    private static void BackwardTile(int first, int count, int t, CellDims d, CellViews v, ArrayView<float> sh)
    {
        int tid = Group.IdxX, gs = Group.DimX, h = d.H, gh = d.GH;
        for (int e = tid; e < count * h; e += gs)
        {
            int q = e / h, j = e % h;
            int n = StepOf(v, first, q, t);
            GateGradients(n, t, j, d, v, sh.SubView((long)q * gh, gh));
        }
        Group.Barrier();
        int n0 = StepOf(v, first, 0, t);
        int n1 = count > 1 ? StepOf(v, first, 1, t) : n0, n2 = count > 2 ? StepOf(v, first, 2, t) : n0, n3 = count > 3 ? StepOf(v, first, 3, t) : n0;
        for (int k = tid; k < h; k += gs)
        {
            if (t > 0)
            {
                // dh_{t−1}[k] += Σ_r W_h[r, k]·dg[r], one weight load for the whole tile.
                float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
                for (int r = 0; r < 4 * h; r++)
                {
                    float w = v.Wh[(long)r * h + k];
                    a0 += w * sh[r];
                    if (count > 1) a1 += w * sh[gh + r];
                    if (count > 2) a2 += w * sh[2 * gh + r];
                    if (count > 3) a3 += w * sh[3 * gh + r];
                }
                v.DH[((long)n0 - 1) * h + k] += a0;
                if (count > 1) v.DH[((long)n1 - 1) * h + k] += a1;
                if (count > 2) v.DH[((long)n2 - 1) * h + k] += a2;
                if (count > 3) v.DH[((long)n3 - 1) * h + k] += a3;
            }
            if (d.Graph != 0)
            {
                float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
                int g = 4 * h;
                for (int r = 0; r < 4 * h; r++)
                {
                    float w = v.Wg[(long)r * h + k];
                    a0 += w * sh[g + r];
                    if (count > 1) a1 += w * sh[gh + g + r];
                    if (count > 2) a2 += w * sh[2 * gh + g + r];
                    if (count > 3) a3 += w * sh[3 * gh + g + r];
                }
                ScatterToPredecessors(v.DH, n0, t, d, v.GraphPred, k, a0);
                if (count > 1) ScatterToPredecessors(v.DH, n1, t, d, v.GraphPred, k, a1);
                if (count > 2) ScatterToPredecessors(v.DH, n2, t, d, v.GraphPred, k, a2);
                if (count > 3) ScatterToPredecessors(v.DH, n3, t, d, v.GraphPred, k, a3);
            }
        }
        Group.Barrier();
    }

    /// <summary>Gate gradients of unit j at step n into DPre and <paramref name="dg"/> (GH floats), plus the c and c*
    /// carries into step n−1 and (Neighbor) the t* steps.</summary>
    private static void GateGradients(int n, int t, int j, CellDims d, CellViews v, ArrayView<float> dg)
    {
        int h = d.H;
        long nh = (long)n * h, row = (long)n * d.GH;
        float i = v.Gates[row + j], f = v.Gates[row + h + j], o = v.Gates[row + 2 * h + j], u = v.Gates[row + 3 * h + j];
        float cPrev = t > 0 ? v.C[nh - h + j] : 0f;
        float dh = v.DH[nh + j];
        float tc = XMath.Tanh(v.C[nh + j]);
        float dc = v.DC[nh + j] + dh * o * (1f - tc * tc);
        float gi = dc * u * i * (1f - i), gf = dc * cPrev * f * (1f - f);
        float go = dh * tc * o * (1f - o), gu = dc * i * (1f - u * u);
        v.DPre[row + j] = gi; v.DPre[row + h + j] = gf; v.DPre[row + 2 * h + j] = go; v.DPre[row + 3 * h + j] = gu;
        dg[j] = gi; dg[h + j] = gf; dg[2 * h + j] = go; dg[3 * h + j] = gu;
        if (t > 0) v.DC[nh - h + j] += dc * f;
        if (d.Graph == 0) return;
        float iS = v.Gates[row + 4 * h + j], fS = v.Gates[row + 5 * h + j];
        float oS = v.Gates[row + 6 * h + j], uS = v.Gates[row + 7 * h + j];
        float tcS = XMath.Tanh(v.Cs[nh + j]);
        float dcS = dh * oS * (1f - tcS * tcS) + (d.Carried != 0 ? v.DCs[nh + j] : 0f);
        float gis = dcS * uS * iS * (1f - iS), gfs = dcS * v.CsPrev[nh + j] * fS * (1f - fS);
        float gos = dh * tcS * oS * (1f - oS), gus = dcS * iS * (1f - uS * uS);
        v.DPre[row + 4 * h + j] = gis; v.DPre[row + 5 * h + j] = gfs;
        v.DPre[row + 6 * h + j] = gos; v.DPre[row + 7 * h + j] = gus;
        dg[4 * h + j] = gis; dg[5 * h + j] = gfs; dg[6 * h + j] = gos; dg[7 * h + j] = gus;
        float dcsPrev = dcS * fS;
        if (d.Carried != 0) { if (t > 0) v.DCs[nh - h + j] = dcsPrev; }
        else ScatterToPredecessors(v.DC, n, t, d, v.GraphPred, j, dcsPrev);
    }

    /// <summary>Adds g / (valid t* count) to unit j of every valid graph predecessor of step n (SPEC D4 mean).
    /// Only the thread handling (this sequence, unit j) in this phase writes there: no atomics (SPEC D13).</summary>
    private static void ScatterToPredecessors(ArrayView<float> target, int n, int t, CellDims d, ArrayView<int> graphPred, int j, float g)
    {
        int valid = 0;
        for (int l = 0; l < d.TopL; l++) if (graphPred[(long)n * d.TopL + l] >= 0) valid++;
        if (valid == 0) return;
        float share = g / valid;
        for (int l = 0; l < d.TopL; l++)
        {
            int pos = graphPred[(long)n * d.TopL + l];
            if (pos >= 0) target[(long)(n - t + pos) * d.H + j] += share;
        }
    }

    private static int TileCount(CellDims d, int active, int first) => active - first < d.SeqTile ? active - first : d.SeqTile;

    /// <summary>One step t of all sequences active at t: group g handles sorted sequences [g·SeqTile, (g+1)·SeqTile).</summary>
    public static void ForwardStep(int t, CellDims d, CellViews v)
    {
        int first = Grid.IdxX * d.SeqTile;
        ForwardTile(first, TileCount(d, v.Active[t], first), t, d, v, SharedMemory.GetDynamic<float>(), 0);
    }

    /// <summary>
    /// All steps in one launch. Group g owns sequence tiles g, g+gridDim, … for the whole recurrence (independent
    /// sequences: no grid barrier) and keeps the first d.SharedRows k-rows of WrT in shared memory.
    /// </summary>
    public static void ForwardPersistent(CellDims d, CellViews v)
    {
        var sh = SharedMemory.GetDynamic<float>();
        int weights = d.SharedRows * d.GH, at = ForwardSharedFloats(d.H);
        for (int e = Group.IdxX; e < weights; e += Group.DimX) sh[at + e] = v.WrT[e];
        Group.Barrier();
        for (int t = 0; t < d.MaxT; t++)
            for (int first = Grid.IdxX * d.SeqTile; first < v.Active[t]; first += Grid.DimX * d.SeqTile)
                ForwardTile(first, TileCount(d, v.Active[t], first), t, d, v, sh, d.SharedRows);
    }

    /// <summary>Reverse step t of all sequences active at t.</summary>
    public static void BackwardStep(int t, CellDims d, CellViews v)
    {
        int first = Grid.IdxX * d.SeqTile;
        BackwardTile(first, TileCount(d, v.Active[t], first), t, d, v, SharedMemory.GetDynamic<float>());
    }

    /// <summary>All reverse steps in one launch; tile ownership as in <see cref="ForwardPersistent"/>.</summary>
    public static void BackwardPersistent(CellDims d, CellViews v)
    {
        var sh = SharedMemory.GetDynamic<float>();
        for (int t = d.MaxT - 1; t >= 0; t--)
            for (int first = Grid.IdxX * d.SeqTile; first < v.Active[t]; first += Grid.DimX * d.SeqTile)
                BackwardTile(first, TileCount(d, v.Active[t], first), t, d, v, sh);
    }
}
