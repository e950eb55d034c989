using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Alpine.Model;

namespace Alpine.Cpu;

/// <summary>The element-wise graph-LSTM cell of <see cref="GraphLstm{T}"/> (paper Eq. 2, SPEC D4–D6) and its
/// backward, on whole Vector512s of a padded row: the graph state gathered from the predecessors, the gates,
/// c, c*, h, and in reverse the pre-activation gradients and the predecessors' shares.</summary>
public sealed partial class GraphLstm<T>
{
    /// <summary>h* and c*_prev of row r (SPEC D4, D5): means over its valid predecessors.</summary>
    private void GatherGraphState(int r, int prev)
    {
        int hs = _hs, w = Simd<T>.Width, s0 = r * hs, hStar = r * _sx + hs + D;
        var scale = Vector512.Create(_plan.PredScale[r]);
        bool neighbor = CStar == CStarReading.Neighbor;
        int topL = TopL;
        int[] pred = _plan.Pred;
        T[] hAll = _h, cAll = _c, xh = _xh, csAll = _cs, csPrevAll = _csPrev;
        for (int e = 0; e < hs; e += w)
        {
            Vector512<T> hSum = Vector512<T>.Zero, cSum = Vector512<T>.Zero;
            for (int l = 0; l < topL; l++)
            {
                int p = pred[r * topL + l];
                if (p < 0) continue;
                hSum += Simd<T>.Load(hAll, p * hs + e);
                if (neighbor) cSum += Simd<T>.Load(cAll, p * hs + e);
            }
            Simd<T>.Store(hSum * scale, xh, hStar + e);
            var csPrev = neighbor ? cSum * scale : prev >= 0 ? Simd<T>.Load(csAll, prev * hs + e) : Vector512<T>.Zero;
            Simd<T>.Store(csPrev, csPrevAll, s0 + e);
        }
    }

    /// <summary>
    /// The element-wise cell of row r: pre-activations = (input part (gates) + b) + recurrent part (row
    /// <paramref name="j"/> of _rec, whose sequential half exists from t = 1); <paramref name="prev"/> is the
    /// row of step t−1 (-1 at t = 0); <paramref name="next"/> the row of step t+1 (-1 at the last step), whose
    /// h_{t−1} slot in _xh h_t goes into as well.
    /// </summary>
    private void CellForward(int r, int prev, int j, int next)
    {
        int hNext = next * _sx;
        int hs = _hs, w = Simd<T>.Width, z0 = r * G * hs, s0 = r * hs, p0 = prev * hs, k0 = j * G * hs;
        T[] g = _gates, rec = _rec, bias = _bPad, cc = _c, cs0 = _cs, csPrev = _csPrev, hh = _h, xh = _xh;   // locals: loaded once, not after every store
        // The input part: row r of the gates (the block's projection), or its item's row of the table.
        T[] input = g;
        int x0 = z0;
        if (_byItem) { input = _proj; x0 = _items.Slot[_plan.Source[r]] * G * hs; }
        bool seqRec = prev >= 0, useGraph = UseGraph;
        for (int e = 0; e < hs; e += w)
        {
            int z = z0 + e, s = s0 + e, k = k0 + e, q = e;   // q: the lane group's place in a gates row (for b)
            int xz = x0 + e;
            // The gates four at a time (their σ/tanh chains interleaved, Simd.LstmGates), then c and c* and their tanh
            // together: the same operations on the same values as one gate after another.
            var i = Pre(input, bias, rec, xz, k, q, seqRec);
            var f = Pre(input, bias, rec, xz + hs, k + hs, q + hs, seqRec);
            var o = Pre(input, bias, rec, xz + 2 * hs, k + 2 * hs, q + 2 * hs, seqRec);
            var u = Pre(input, bias, rec, xz + 3 * hs, k + 3 * hs, q + 3 * hs, seqRec);
            Simd<T>.LstmGates(ref i, ref f, ref o, ref u);
            Simd<T>.Store(i, g, z); Simd<T>.Store(f, g, z + hs); Simd<T>.Store(o, g, z + 2 * hs); Simd<T>.Store(u, g, z + 3 * hs);
            var c = i * u;
            if (prev >= 0) c = Simd<T>.Fma(f, Simd<T>.Load(cc, p0 + e), c);
            Simd<T>.Store(c, cc, s);
            Vector512<T> h;
            if (useGraph)
            {
                z += 4 * hs; k += 4 * hs; q += 4 * hs; xz += 4 * hs;
                var si = Pre(input, bias, rec, xz, k, q, true);
                var sf = Pre(input, bias, rec, xz + hs, k + hs, q + hs, true);
                var so = Pre(input, bias, rec, xz + 2 * hs, k + 2 * hs, q + 2 * hs, true);
                var su = Pre(input, bias, rec, xz + 3 * hs, k + 3 * hs, q + 3 * hs, true);
                Simd<T>.LstmGates(ref si, ref sf, ref so, ref su);
                Simd<T>.Store(si, g, z); Simd<T>.Store(sf, g, z + hs); Simd<T>.Store(so, g, z + 2 * hs); Simd<T>.Store(su, g, z + 3 * hs);
                var cs = Simd<T>.Fma(sf, Simd<T>.Load(csPrev, s), si * su);
                Simd<T>.Store(cs, cs0, s);
                var tc = c; var tcs = cs;
                Simd<T>.Tanh2(ref tc, ref tcs);
                h = Simd<T>.Fma(so, tcs, o * tc);
            }
            else h = o * Simd<T>.Tanh(c);
            Simd<T>.Store(h, hh, s);
            if (next >= 0) Simd<T>.Store(h, xh, hNext + e);
        }
    }

    /// <summary>dgates[z..] = g, and the sequence's db row (at k in _dbSeq) += g while g is in a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGrad(Vector512<T> g, T[] dgates, T[] dbSeq, int z, int k)
    {
        Simd<T>.Store(g, dgates, z);
        Simd<T>.Store(Simd<T>.Load(dbSeq, k) + g, dbSeq, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Pre(T[] input, T[] bias, T[] rec, int z, int k, int q, bool withRec)
    {
        var p = Simd<T>.Load(input, z) + Simd<T>.Load(bias, q);
        return withRec ? p + Simd<T>.Load(rec, k) : p;
    }

    /// <summary>
    /// The backward of the means of row r (SPEC D4, D5): for each valid predecessor t*, dh[t*] += dh* / (valid
    /// count), dh* being row <paramref name="at"/> of _dhStar, and (Neighbor) dc[t*] += dL/dc*_prev / (valid
    /// count). One pass over the predecessor rows for both, after the cell and the GEMMs of r's block; nothing
    /// in between touches those rows, so every sum keeps its order.
    /// </summary>
    private void ScatterToPredecessors(int r, int at)
    {
        int hs = _hs, w = Simd<T>.Width, s0 = r * hs;
        var scale = Vector512.Create(_plan.PredScale[r]);
        bool neighbor = CStar == CStarReading.Neighbor;
        int topL = TopL;
        int[] pred = _plan.Pred;
        T[] dhStar = _dhStar, dhAll = _dh, dcs = _dcs, dcAll = _dc;
        for (int l = 0; l < topL; l++)
        {
            int p = pred[r * topL + l];
            if (p < 0) continue;
            for (int e = 0; e < hs; e += w)
            {
                int d = p * hs + e;
                Simd<T>.Store(Simd<T>.Fma(Simd<T>.Load(dhStar, at + e), scale, Simd<T>.Load(dhAll, d)), dhAll, d);
                if (neighbor) Simd<T>.Store(Simd<T>.Fma(Simd<T>.Load(dcs, s0 + e), scale, Simd<T>.Load(dcAll, d)), dcAll, d);
            }
        }
    }

    /// <summary>
    /// The element-wise backward of row r: from dL/dh_t (complete) and the dL/dc_t gathered so far, the
    /// pre-activation gradients; it adds dL/dc_{t−1} into row <paramref name="prev"/> and leaves the graph
    /// cell's dL/dc*_prev in _dcs for its source (SPEC D5): row prev (Carried, here), the predecessors
    /// (Neighbor, <see cref="ScatterToPredecessors"/>). <paramref name="next"/> is the row of _dhRec holding step t+1's
    /// share of dL/dh_t (-1 at the last step). Each dgates value is also added into the db row of its sorted
    /// sequence <paramref name="seq"/>: a per-sequence sum in time order, whatever the thread split (SPEC D13).
    /// </summary>
    private void CellBackward(int r, int prev, int next, int seq)
    {
        int hs = _hs, w = Simd<T>.Width, z0 = r * G * hs, s0 = r * hs, p0 = prev * hs, k0 = seq * G * hs;
        var a = _gates;   // activations
        T[] dgates = _dgates, dbSeq = _dbSeq, dhAll = _dh, dhRec = _dhRec, cc = _c, dcAll = _dc, csAll = _cs, dcsAll = _dcs, csPrev = _csPrev;
        bool useGraph = UseGraph;
        var one = Vector512<T>.One;
        for (int e = 0; e < hs; e += w)
        {
            int z = z0 + e, s = s0 + e, k = k0 + e;
            var i = Simd<T>.Load(a, z); var f = Simd<T>.Load(a, z + hs);
            var o = Simd<T>.Load(a, z + 2 * hs); var u = Simd<T>.Load(a, z + 3 * hs);
            var dh = next >= 0 ? Simd<T>.Load(dhAll, s) + Simd<T>.Load(dhRec, next * hs + e) : Simd<T>.Load(dhAll, s);
            // tanh(c_t) (and tanh(c*_t)) again rather than stored: the same bits as the forward's, and two fewer (N, Hs)
            // buffers through memory; with the graph path both at once (Simd.Tanh2).
            var tc = Simd<T>.Load(cc, s);
            var tcs = useGraph ? Simd<T>.Load(csAll, s) : default;
            if (useGraph) Simd<T>.Tanh2(ref tc, ref tcs); else tc = Simd<T>.Tanh(tc);
            var dc = Simd<T>.Load(dcAll, s) + dh * o * (one - tc * tc);
            var cPrev = prev >= 0 ? Simd<T>.Load(cc, p0 + e) : Vector512<T>.Zero;
            StoreGrad(dc * u * i * (one - i), dgates, dbSeq, z, k);
            StoreGrad(dc * cPrev * f * (one - f), dgates, dbSeq, z + hs, k + hs);
            StoreGrad(dh * tc * o * (one - o), dgates, dbSeq, z + 2 * hs, k + 2 * hs);
            StoreGrad(dc * i * (one - u * u), dgates, dbSeq, z + 3 * hs, k + 3 * hs);
            if (prev >= 0) Simd<T>.Store(Simd<T>.Fma(dc, f, Simd<T>.Load(dcAll, p0 + e)), dcAll, p0 + e);
            if (!useGraph) continue;

            z += 4 * hs; k += 4 * hs;
            i = Simd<T>.Load(a, z); f = Simd<T>.Load(a, z + hs);
            o = Simd<T>.Load(a, z + 2 * hs); u = Simd<T>.Load(a, z + 3 * hs);
            var dcs = Simd<T>.Load(dcsAll, s) + dh * o * (one - tcs * tcs);
            StoreGrad(dcs * u * i * (one - i), dgates, dbSeq, z, k);
            StoreGrad(dcs * Simd<T>.Load(csPrev, s) * f * (one - f), dgates, dbSeq, z + hs, k + hs);
            StoreGrad(dh * tcs * o * (one - o), dgates, dbSeq, z + 2 * hs, k + 2 * hs);
            StoreGrad(dcs * i * (one - u * u), dgates, dbSeq, z + 3 * hs, k + 3 * hs);
            Simd<T>.Store(dcs * f, dcsAll, s);   // now dL/dc*_prev
        }
        if (!useGraph) return;
        // Neighbor: dL/dc*_prev goes to the predecessors' dc with dh*'s share, in ScatterToPredecessors.
        if (CStar == CStarReading.Carried && prev >= 0) _dcs.AsSpan(s0, hs).CopyTo(_dcs.AsSpan(p0, hs));
    }
}
