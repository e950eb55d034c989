using System.Numerics;
using System.Numerics.Tensors;
using Alpine.Model;

namespace Alpine.Cpu;

/// <summary>
/// The temporal graph-LSTM layer (paper Eq. 2, SPEC D4–D6 and "Graph-LSTM cell") and, with
/// <c>useGraph = false</c>, the plain LSTM of the <c>umg</c> variant (paper Eq. 1): a forward/backward
/// pair over all sequences of a <see cref="SequenceSet"/>, generic in T so that the same code runs in
/// float (speed) and in double (finite-difference checks).
/// <para>
/// Gate rows of <c>Wx</c> and <c>b</c> (G·H of them, G = 8 with the graph path, 4 without) are ordered
/// i, f, o, u, then i*, f*, o*, u*, each block H rows. <c>Wh</c> [4H, H] multiplies h_{t−1}; <c>Wg</c>
/// [4H, H] multiplies h*. Per step t of a sequence:
/// <code>
/// [i f o u]     = [σ σ σ tanh](Wx[0:4H] x_t + Wh h_{t−1} + b[0:4H])
/// [i* f* o* u*] = [σ σ σ tanh](Wx[4H:8H] x_t + Wg h* + b[4H:8H])   h* = mean of h_{t*} over valid t*
/// c_t  = i ⊙ u + f ⊙ c_{t−1}
/// c*_t = i* ⊙ u* + f* ⊙ c*_prev     Neighbor: c*_prev = mean of c_{t*};  Carried: c*_prev = c*_{t−1}
/// h_t  = o ⊙ tanh(c_t) + o* ⊙ tanh(c*_t)
/// </code>
/// All states start at zero (SPEC D6); with no valid t*, h* = 0 and (Neighbor) c*_prev = 0.
/// </para>
/// <para>
/// Work plan (SPEC "Fusion", D13): the rows are reordered time-major (<see cref="GraphLstmSchedule{T}"/>);
/// the input projection of every step is one GEMM; then fixed chunks of sequences run their recurrence
/// in parallel, each step one GEMM [sequences × H]·[H × 4H] per path plus the element-wise cell. Backward
/// runs the same chunks in reverse time, and the weight gradients are GEMMs over all steps afterwards, so
/// no sum depends on thread timing.
/// </para>
/// The layer owns its activation buffers; they grow only when a larger step count arrives.
/// <see cref="Backward"/> reads the activations of the latest <see cref="Forward"/>, which must have had
/// the same weights, sequences and inputs.
/// </summary>
public sealed class GraphLstm<T> : ISequenceEncoder<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public GraphLstm(int d, int h, bool useGraph, CStarReading cstar, int topL)
    {
        if (d <= 0 || h <= 0 || topL <= 0) throw new ArgumentException($"graph-LSTM needs D, H, L > 0, got D={d}, H={h}, L={topL}");
        D = d; H = h; UseGraph = useGraph; CStar = cstar; TopL = topL;
        G = useGraph ? 8 : 4;
        _whT = new T[h * 4 * h];
        _wgT = useGraph ? new T[h * 4 * h] : [];
        _wh = new T[h * 4 * h];
        _wg = useGraph ? new T[h * 4 * h] : [];
    }

    public int D { get; }
    public int H { get; }
    public bool UseGraph { get; }
    public CStarReading CStar { get; }
    public int TopL { get; }
    /// <summary>Gate sets × 4: 8 with the graph path, 4 without; Wx is [G·H, D], b is [G·H].</summary>
    public int G { get; }

    /// <summary>Parameter sizes of one layer, for the flat layout: Wx [G·H, D], Wh [4H, H], Wg [4H, H] (graph only), b [G·H].</summary>
    public static (int Rows, int Cols) WxShape(int d, int h, bool useGraph) => ((useGraph ? 8 : 4) * h, d);

    private readonly GraphLstmSchedule<T> _plan = new();
    private SequenceSet? _forwardSeqs;
    private readonly T[] _whT, _wgT;   // (H, 4H) Whᵀ and Wgᵀ: B operands of the forward per-step GEMMs
    private readonly T[] _wh, _wg;     // (4H, H) copies the backward chunks can reach from other threads

    // Activations in packed row order (N rows).
    private T[] _x = [];       // (N, D)   x_t
    private T[] _gates = [];   // (N, G·H) pre-activations, then i f o u [i* f* o* u*]
    private T[] _hPrev = [];   // (N, H)   h_{t−1} (0 at t = 0): the A operand of dWh
    private T[] _c = [];       // (N, H)   c_t
    private T[] _tc = [];      // (N, H)   tanh(c_t)
    private T[] _h = [];       // (N, H)   h_t
    private T[] _hs = [];      // (N, H)   h*       (graph path only)
    private T[] _csPrev = [];  // (N, H)   c*_prev  (graph path only)
    private T[] _cs = [];      // (N, H)   c*_t     (graph path only)
    private T[] _tcs = [];     // (N, H)   tanh(c*_t)
    // Gradients in packed row order.
    private T[] _dgates = [];  // (N, G·H) dL/d pre-activations
    private T[] _dh = [];      // (N, H)   dL/dh_t: from above, from step t+1, and from later steps reading t as t*
    private T[] _dc = [];      // (N, H)   dL/dc_t: from step t+1, and (Neighbor) from later steps reading t as t*
    private T[] _dcs = [];     // (N, H)   dL/dc*_t: (Carried) from step t+1; scratch otherwise
    private T[] _dhs = [];     // (N, H)   dL/dh*
    private T[] _dx = [];      // (N, D)

    /// <summary>
    /// Forward over every sequence of <paramref name="seqs"/>: h (N, H) in the caller's row order
    /// (<c>Offsets[s] + t</c>), from x (N, D).
    /// </summary>
    public void Forward(
        ReadOnlySpan<T> wx,   // (G·H, D)
        ReadOnlySpan<T> wh,   // (4H, H)
        ReadOnlySpan<T> wg,   // (4H, H), empty without the graph path
        ReadOnlySpan<T> b,    // (G·H)
        SequenceSet seqs,
        ReadOnlySpan<T> x,    // (N, D)
        Span<T> h)            // (N, H) out
    {
        int n = seqs.TotalSteps, gh = G * H, H4 = 4 * H;
        CheckArgs(wx, wh, wg, b, seqs, x, h, "h");
        Allocate(n);
        _plan.Build(seqs, Environment.ProcessorCount);
        _forwardSeqs = seqs;
        var plan = _plan;

        // Gather x into packed order; every gate row starts as b, then the input projection for all
        // steps is one GEMM: gates (N, G·H) += x (N, D) · Wxᵀ.
        for (int r = 0; r < n; r++)
        {
            x.Slice(plan.Source[r] * D, D).CopyTo(_x.AsSpan(r * D, D));
            b.CopyTo(_gates.AsSpan(r * gh, gh));
        }
        Gemm.Multiply(_gates, gh, _x, D, false, wx, D, true, n, gh, D, accumulate: true, parallel: true);
        Gemm.Transpose(_whT, wh, H4, H, H);
        if (UseGraph) Gemm.Transpose(_wgT, wg, H4, H, H);

        Parallel.For(0, plan.ChunkStart.Length - 1, chunk => ForwardChunk(plan.ChunkStart[chunk], plan.ChunkStart[chunk + 1]));

        for (int r = 0; r < n; r++) _h.AsSpan(r * H, H).CopyTo(h.Slice(plan.Source[r] * H, H));
    }

    /// <summary>The recurrence of sorted sequences [j0, j1), all steps in order.</summary>
    private void ForwardChunk(int j0, int j1)
    {
        int gh = G * H, H4 = 4 * H;
        var plan = _plan;
        for (int t = 0; t < plan.Steps; t++)
        {
            int rows = Math.Min(j1, plan.Active[t]) - j0;
            if (rows <= 0) break;
            int r0 = plan.BlockStart[t] + j0;
            int q0 = t > 0 ? plan.BlockStart[t - 1] + j0 : -1;   // the same sequences one step earlier

            // Sequential path: gates[:, 0:4H] += h_{t−1} · Whᵀ for all rows of this step at once.
            var hPrev = _hPrev.AsSpan(r0 * H, rows * H);
            if (t > 0)
            {
                _h.AsSpan(q0 * H, rows * H).CopyTo(hPrev);
                Gemm.Multiply(_gates.AsSpan(r0 * gh), gh, hPrev, H, false, _whT, H4, false, rows, H4, H, accumulate: true);
            }
            else hPrev.Clear();

            if (UseGraph)
            {
                for (int r = r0; r < r0 + rows; r++) GatherGraphState(r, t > 0 ? q0 + (r - r0) : -1);
                Gemm.Multiply(_gates.AsSpan(r0 * gh + H4), gh, _hs.AsSpan(r0 * H), H, false, _wgT, H4, false, rows, H4, H, accumulate: true);
            }

            for (int r = r0; r < r0 + rows; r++) CellForward(r, t > 0 ? q0 + (r - r0) : -1);
        }
    }

    /// <summary>h* and c*_prev of row r (SPEC D4, D5): means over its valid predecessors.</summary>
    private void GatherGraphState(int r, int prev)
    {
        var hs = _hs.AsSpan(r * H, H);
        var csPrev = _csPrev.AsSpan(r * H, H);
        hs.Clear();
        bool neighbor = CStar == CStarReading.Neighbor;
        if (neighbor) csPrev.Clear();
        for (int l = 0; l < TopL; l++)
        {
            int p = _plan.Pred[r * TopL + l];
            if (p < 0) continue;
            TensorPrimitives.Add(hs, _h.AsSpan(p * H, H), hs);
            if (neighbor) TensorPrimitives.Add(csPrev, _c.AsSpan(p * H, H), csPrev);
        }
        T scale = _plan.PredScale[r];
        TensorPrimitives.Multiply(hs, scale, hs);
        if (neighbor) TensorPrimitives.Multiply(csPrev, scale, csPrev);
        else if (prev >= 0) _cs.AsSpan(prev * H, H).CopyTo(csPrev);
        else csPrev.Clear();
    }

    /// <summary>The element-wise cell of row r; <paramref name="prev"/> is the row of step t−1 (-1 at t = 0).</summary>
    private void CellForward(int r, int prev)
    {
        int H3 = 3 * H;
        var z = _gates.AsSpan(r * G * H, G * H);
        var c = _c.AsSpan(r * H, H);
        var tc = _tc.AsSpan(r * H, H);
        var h = _h.AsSpan(r * H, H);

        TensorPrimitives.Sigmoid(z[..H3], z[..H3]);
        TensorPrimitives.Tanh(z.Slice(H3, H), z.Slice(H3, H));
        var i = z[..H]; var f = z.Slice(H, H); var o = z.Slice(2 * H, H); var u = z.Slice(H3, H);
        TensorPrimitives.Multiply(i, u, c);
        if (prev >= 0) TensorPrimitives.FusedMultiplyAdd(f, _c.AsSpan(prev * H, H), c, c);
        TensorPrimitives.Tanh(c, tc);
        TensorPrimitives.Multiply(o, tc, h);
        if (!UseGraph) return;

        var zs = z[(4 * H)..];
        var cs = _cs.AsSpan(r * H, H);
        var tcs = _tcs.AsSpan(r * H, H);
        TensorPrimitives.Sigmoid(zs[..H3], zs[..H3]);
        TensorPrimitives.Tanh(zs.Slice(H3, H), zs.Slice(H3, H));
        var si = zs[..H]; var sf = zs.Slice(H, H); var so = zs.Slice(2 * H, H); var su = zs.Slice(H3, H);
        TensorPrimitives.Multiply(si, su, cs);
        TensorPrimitives.FusedMultiplyAdd(sf, _csPrev.AsSpan(r * H, H), cs, cs);
        TensorPrimitives.Tanh(cs, tcs);
        TensorPrimitives.FusedMultiplyAdd(so, tcs, h, h);
    }

    /// <summary>
    /// Backward through time of the latest <see cref="Forward"/>: dx (N, D) is assigned; dWx, dWh, dWg
    /// and db are accumulated (+=), llm.c's rule.
    /// </summary>
    public void Backward(
        ReadOnlySpan<T> wx,   // (G·H, D)
        ReadOnlySpan<T> wh,   // (4H, H)
        ReadOnlySpan<T> wg,   // (4H, H), empty without the graph path
        ReadOnlySpan<T> b,    // (G·H)
        SequenceSet seqs,
        ReadOnlySpan<T> x,    // (N, D)
        ReadOnlySpan<T> dh,   // (N, H) dL/dh_t from the layers above
        Span<T> dx,           // (N, D) out
        Span<T> dwx,          // (G·H, D) +=
        Span<T> dwh,          // (4H, H) +=
        Span<T> dwg,          // (4H, H) +=, empty without the graph path
        Span<T> db)           // (G·H) +=
    {
        if (!ReferenceEquals(seqs, _forwardSeqs)) throw new InvalidOperationException("graph-LSTM Backward needs the sequences of the latest Forward");
        CheckArgs(wx, wh, wg, b, seqs, x, dh, "dh");
        CheckSize(dx.Length, seqs.TotalSteps * D, "dx");
        CheckSize(dwx.Length, G * H * D, "dWx");
        CheckSize(dwh.Length, 4 * H * H, "dWh");
        CheckSize(dwg.Length, UseGraph ? 4 * H * H : 0, "dWg");
        CheckSize(db.Length, G * H, "db");
        int n = seqs.TotalSteps, gh = G * H, H4 = 4 * H;
        var plan = _plan;

        // dh from above seeds each row's dL/dh; the cell gradients start at zero and gather fan-in.
        for (int r = 0; r < n; r++) dh.Slice(plan.Source[r] * H, H).CopyTo(_dh.AsSpan(r * H, H));
        _dc.AsSpan(0, n * H).Clear();
        if (UseGraph) _dcs.AsSpan(0, n * H).Clear();

        // Wh and Wg are the B operands as they are: dh_{t−1} (rows, H) += dgates (rows, 4H) · Wh (4H, H).
        wh.CopyTo(_wh);
        wg.CopyTo(_wg);
        Parallel.For(0, plan.ChunkStart.Length - 1, chunk => BackwardChunk(plan.ChunkStart[chunk], plan.ChunkStart[chunk + 1]));

        // Weight gradients over all steps at once: deterministic GEMMs, parallel over their output rows.
        Gemm.Multiply(dwx, D, _dgates, gh, true, _x, D, false, gh, D, n, accumulate: true, parallel: true);
        Gemm.Multiply(dwh, H, _dgates, gh, true, _hPrev, H, false, H4, H, n, accumulate: true, parallel: true);
        if (UseGraph) Gemm.Multiply(dwg, H, _dgates.AsSpan(H4), gh, true, _hs, H, false, H4, H, n, accumulate: true, parallel: true);
        for (int r = 0; r < n; r++) TensorPrimitives.Add(db, _dgates.AsSpan(r * gh, gh), db);

        // dx (N, D) = dgates (N, G·H) · Wx (G·H, D), scattered back to the caller's order.
        Gemm.Multiply(_dx, D, _dgates, gh, false, wx, D, false, n, D, gh, accumulate: false, parallel: true);
        for (int r = 0; r < n; r++) _dx.AsSpan(r * D, D).CopyTo(dx.Slice(plan.Source[r] * D, D));
    }

    /// <summary>Reverse-time recurrence of sorted sequences [j0, j1).</summary>
    private void BackwardChunk(int j0, int j1)
    {
        int gh = G * H, H4 = 4 * H;
        var plan = _plan;
        for (int t = plan.Steps - 1; t >= 0; t--)
        {
            int rows = Math.Min(j1, plan.Active[t]) - j0;
            if (rows <= 0) continue;
            int r0 = plan.BlockStart[t] + j0;
            int q0 = t > 0 ? plan.BlockStart[t - 1] + j0 : -1;

            // Every later step has already added into row r's dh and dc, so they are complete here.
            for (int r = r0; r < r0 + rows; r++) CellBackward(r, t > 0 ? q0 + (r - r0) : -1);

            if (t > 0)
                Gemm.Multiply(_dh.AsSpan(q0 * H), H, _dgates.AsSpan(r0 * gh), gh, false, _wh, H, false, rows, H, H4, accumulate: true);
            if (UseGraph)
            {
                // dh* (rows, H) = dgates[:, 4H:8H] · Wg, then the fan-in: each t* receives its share of the mean.
                Gemm.Multiply(_dhs.AsSpan(r0 * H), H, _dgates.AsSpan(r0 * gh + H4), gh, false, _wg, H, false, rows, H, H4, accumulate: false);
                for (int r = r0; r < r0 + rows; r++) ScatterToPredecessors(_dh, _dhs.AsSpan(r * H, H), r);
            }
        }
    }

    /// <summary>dst[t*] += scale · g for each valid predecessor t* of row r: the backward of the mean.</summary>
    private void ScatterToPredecessors(T[] dst, Span<T> g, int r)
    {
        T scale = _plan.PredScale[r];
        for (int l = 0; l < TopL; l++)
        {
            int p = _plan.Pred[r * TopL + l];
            if (p < 0) continue;
            var d = dst.AsSpan(p * H, H);
            TensorPrimitives.FusedMultiplyAdd(g, scale, d, d);
        }
    }

    /// <summary>
    /// The element-wise backward of row r: from dL/dh_t (complete) and the dL/dc_t gathered so far, the
    /// pre-activation gradients; it adds dL/dc_{t−1} into row <paramref name="prev"/> and the graph cell's
    /// share into its source (SPEC D5).
    /// </summary>
    private void CellBackward(int r, int prev)
    {
        int gh = G * H;
        var a = _gates.AsSpan(r * gh, gh);    // activations
        var dz = _dgates.AsSpan(r * gh, gh);  // out
        var dh = _dh.AsSpan(r * H, H);
        var dc = _dc.AsSpan(r * H, H);        // completed in place to the full dL/dc_t
        var tc = _tc.AsSpan(r * H, H);
        Span<T> cPrev = prev >= 0 ? _c.AsSpan(prev * H, H) : default;
        Span<T> dcPrev = prev >= 0 ? _dc.AsSpan(prev * H, H) : default;
        T one = T.One;
        for (int e = 0; e < H; e++)
        {
            T i = a[e], f = a[H + e], o = a[2 * H + e], u = a[3 * H + e];
            T g = dh[e], th = tc[e];
            T dce = dc[e] + g * o * (one - th * th);
            dc[e] = dce;
            dz[e] = dce * u * i * (one - i);
            dz[2 * H + e] = g * th * o * (one - o);
            dz[3 * H + e] = dce * i * (one - u * u);
            if (prev >= 0)
            {
                dz[H + e] = dce * cPrev[e] * f * (one - f);
                dcPrev[e] += dce * f;
            }
            else dz[H + e] = T.Zero;
        }
        if (!UseGraph) return;

        var dcs = _dcs.AsSpan(r * H, H);      // Carried: gathered from step t+1; Neighbor: zero so far
        var tcs = _tcs.AsSpan(r * H, H);
        var csPrev = _csPrev.AsSpan(r * H, H);
        for (int e = 0; e < H; e++)
        {
            T i = a[4 * H + e], f = a[5 * H + e], o = a[6 * H + e], u = a[7 * H + e];
            T g = dh[e], th = tcs[e];
            T dce = dcs[e] + g * o * (one - th * th);
            dz[4 * H + e] = dce * u * i * (one - i);
            dz[5 * H + e] = dce * csPrev[e] * f * (one - f);
            dz[6 * H + e] = g * th * o * (one - o);
            dz[7 * H + e] = dce * i * (one - u * u);
            dcs[e] = dce * f;                 // now dL/dc*_prev
        }
        if (CStar == CStarReading.Neighbor) ScatterToPredecessors(_dc, dcs, r);
        else if (prev >= 0) dcs.CopyTo(_dcs.AsSpan(prev * H, H));
    }

    private void CheckArgs(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b,
        SequenceSet seqs, ReadOnlySpan<T> x, ReadOnlySpan<T> hOrDh, string hName)
    {
        if (seqs.TopL != TopL) throw new ArgumentException($"graph-LSTM built for top-L {TopL}, sequences carry {seqs.TopL}");
        CheckSize(wx.Length, G * H * D, "Wx");
        CheckSize(wh.Length, 4 * H * H, "Wh");
        CheckSize(wg.Length, UseGraph ? 4 * H * H : 0, "Wg");
        CheckSize(b.Length, G * H, "b");
        CheckSize(x.Length, seqs.TotalSteps * D, "x");
        CheckSize(hOrDh.Length, seqs.TotalSteps * H, hName);
    }

    private static void CheckSize(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"graph-LSTM: {name} has {actual} elements, expected {expected}");
    }

    /// <summary>Grows the activation buffers to N rows; never shrinks.</summary>
    private void Allocate(int n)
    {
        if (_c.Length >= n * H && _x.Length >= n * D) return;
        int gh = G * H, nh = n * H, gs = UseGraph ? nh : 0;
        _x = new T[n * D]; _dx = new T[n * D];
        _gates = new T[n * gh]; _dgates = new T[n * gh];
        _hPrev = new T[nh]; _c = new T[nh]; _tc = new T[nh]; _h = new T[nh]; _dh = new T[nh]; _dc = new T[nh];
        _hs = new T[gs]; _csPrev = new T[gs]; _cs = new T[gs]; _tcs = new T[gs]; _dcs = new T[gs]; _dhs = new T[gs];
    }
}
