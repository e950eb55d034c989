using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Alpine.Model;
using Alpine.Prep;

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
/// Work plan (SPEC "Fusion", D13): the sequences, sorted by length, are cut into fixed groups of
/// <see cref="DefaultGroup"/> (a set of fewer than <see cref="GroupedFrom"/> sequences is one group), each
/// group's rows one contiguous range stored time-major (<see cref="GraphLstmSchedule{T}"/>). Fixed chunks of
/// groups run in parallel; a group runs its steps in time blocks of <see cref="TimeBlock"/>: the block's
/// input projection as one GEMM, then its recurrence, each step one GEMM [sequences × H]·[H × 4H] per path
/// plus the element-wise cell. Backward runs each group's blocks in reverse time, each block's weight
/// gradients (GEMMs over its rows) right after its backward, added into a per-group slot; the slots are
/// added in group order. A block's gates (~2 KiB a row at H = 64) are thus still in L2 when the recurrence
/// and the weight-gradient GEMMs read them, and no sum depends on the thread count or timing. One group
/// (SharedPrefix: ~10–20 long sequences per branch) instead projects all rows with the threads sharing the
/// GEMM, runs fixed chunks of its sequences' recurrence in parallel and its weight gradients over all rows.
/// Where items repeat (Window mode's overlapping windows: ~350k rows of ~2.5k distinct items per branch) the
/// input projection runs once per distinct item (the same bits: x is a function of the item) and, in groups,
/// dWx's part is summed per item before its GEMM (<see cref="ItemWeightGradients"/>).
/// </para>
/// <para>
/// Inside, every H-long state row is stored with stride Hs = H rounded up to a whole number of Vector512
/// lanes, and each gate block of a gates row likewise, so the element-wise cell runs whole vectors with no
/// scalar tail. The padded weight copies are zero in the pad lanes, so a pad lane sees z = 0 and keeps
/// c = h = 0 and zero gradients. The cell adds b to the input GEMM's output as it reads it (the same sum,
/// in the same order, as a ones column appended to x would give). db is summed per sequence by the backward
/// cell as it writes each gradient, and the sequences' sums are added in sorted order: no result depends on
/// the thread count (SPEC D13).
/// </para>
/// <para>
/// Memory traffic, not FLOPs, is what the big buffers cost (Window mode: N ≈ 470k rows, the gates alone
/// ~1 GB): hence the groups and time blocks; the large buffers are asked for huge pages (<see cref="Buffers"/>);
/// the recurrence runs blocks of <see cref="RowBlock"/> sequences per step so the recurrent
/// pre-activations stay in L2; the backward cell writes dgates over the activations it has just read; the
/// weight gradients are one GEMM per gate half, whose B operand [h_{t−1} | x] or [x | h*] is two
/// neighbouring column ranges of one (N, Hs + D + Hs) buffer, so each half of dgates is read once.
/// </para>
/// The layer owns its activation buffers; they grow only when a larger step count arrives.
/// <see cref="Backward"/> reads the activations of the latest <see cref="Forward"/>, which must have had
/// the same weights, sequences and inputs, and overwrites them with their gradients: one Backward per Forward.
/// </summary>
public sealed class GraphLstm<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <param name="chunks">Sequence chunks run in parallel; 0 means one per core. It changes no bit of the results.</param>
    /// <param name="group">Sorted sequences per group (see <see cref="DefaultGroup"/>); 0 means by the set's size
    /// (<see cref="GroupedFrom"/>). It changes the summation order of the weight gradients (float rounding), so results
    /// are reproducible for one group size.</param>
    /// <param name="shareByItem">The caller's promise that rows with one item id (<see cref="SequenceSet.Items"/>) carry
    /// equal x (x a function of the item, as <see cref="CpuModel{T}"/> gathers it): their input projection may then be
    /// shared (see "By item" in the class notes). Checked in Debug builds only; off, every row is projected.</param>
    public GraphLstm(int d, int h, bool useGraph, CStarReading cstar, int topL, int chunks = 0, int group = 0, bool shareByItem = false)
    {
        if (d <= 0 || h <= 0 || topL <= 0) throw new ArgumentException($"graph-LSTM needs D, H, L > 0, got D={d}, H={h}, L={topL}");
        D = d; H = h; UseGraph = useGraph; CStar = cstar; TopL = topL;
        G = ModelLayout.Gates(useGraph);
        _chunks = chunks > 0 ? chunks : Environment.ProcessorCount;
        _group = group;
        _shareByItem = shareByItem;
        int w = Simd<T>.Width;
        _hs = (h + w - 1) / w * w;
        int gates = G * _hs, rec = 4 * _hs;
        _sx = _hs + d + (useGraph ? _hs : 0);
        _wxRows = new T[gates * d];
        _wxT = new T[d * gates];
        _bPad = new T[gates];
        _dwSize = rec * (_hs + d) * (useGraph ? 2 : 1);
        _whRows = new T[rec * h]; _whT = new T[h * rec];
        _wgRows = useGraph ? new T[rec * h] : []; _wgT = useGraph ? new T[h * rec] : [];
    }

    public int D { get; }
    public int H { get; }
    public bool UseGraph { get; }
    public CStarReading CStar { get; }
    public int TopL { get; }
    /// <summary>Gate sets × 4: 8 with the graph path, 4 without; Wx is [G·H, D], b is [G·H].</summary>
    public int G { get; }

    private readonly int _chunks;
    private readonly int _group;
    private readonly int _hs;           // Hs: H padded to whole Vector512s, the stride of every state row and gate block
    private readonly GraphLstmSchedule<T> _plan = new();
    private SequenceSet? _forwardSeqs;   // null once a Backward has consumed the activations

    // Padded weight copies, rebuilt from the caller's weights by each Forward / Backward.
    private readonly T[] _wxRows;       // (G·Hs, D) Wx, zero pad rows: B operand of dx
    private readonly T[] _wxT;          // (D, G·Hs) its transpose: B operand of the input GEMM
    private readonly T[] _bPad;         // (G·Hs) b, zero pads: the cell adds it to the input part
    private readonly T[] _whRows, _wgRows; // (4Hs, H) Wh, Wg: B operands of dh_{t−1}, dh*
    private readonly T[] _whT, _wgT;    // (H, 4Hs) their transposes: B operands of the forward steps
    // The weight gradients of each sequence group as two GEMM outputs, one per gate half, summed over the
    // groups in group order and then added into the caller's:
    // sequential half (4Hs, Hs + D) = dgates[:, 0:4Hs]ᵀ · [h_{t−1} | x]  → [dWh | dWx rows 0:4H];
    // graph half      (4Hs, D + Hs) = dgates[:, 4Hs:8Hs]ᵀ · [x | h*]     → [dWx rows 4H:8H | dWg].
    private readonly int _dwSize;        // both halves of one group
    private T[] _dwGroups = [];          // (groups, _dwSize)
    private readonly int _sx;           // Sx = Hs + D (+ Hs): the row stride of _xh
    private T[] _dbSeq = [];            // (B, G·Hs) each sorted sequence's Σ_t dgates

    // Activations in packed row order (N rows, see GraphLstmSchedule).
    // (N, Sx) [h_{t−1} | x_t | h*] side by side (h* only with the graph path): the A operands of the input
    // and recurrent GEMMs, and, as adjacent column pairs, the B operands of the two weight-gradient GEMMs,
    // each of which then reads its half of dgates once.
    private T[] _xh = [];
    private T[] _gates = [];   // (N, G·Hs) pre-activations, then i f o u [i* f* o* u*]
    private T[] _c = [];       // (N, Hs)  c_t
    private T[] _h = [];       // (N, Hs)  h_t
    private T[] _csPrev = [];  // (N, Hs)  c*_prev  (graph path only)
    private T[] _cs = [];      // (N, Hs)  c*_t     (graph path only)
    // Gradients in packed row order.
    // (N, G·Hs) dL/d pre-activations: the same array as _gates. The backward cell reads a row's activations
    // and writes their gradients over them, so the largest buffer (N × 8H floats) goes through memory once
    // fewer (no separate write-allocate) and exists once; Backward thereby consumes its Forward.
    private T[] _dgates = [];
    private T[] _dh = [];      // (N, Hs)  dL/dh_t: from above, from step t+1, and from later steps reading t as t*
    private T[] _dc = [];      // (N, Hs)  dL/dc_t: from step t+1, and (Neighbor) from later steps reading t as t*
    private T[] _dcs = [];     // (N, Hs)  dL/dc*_t: (Carried) from step t+1; then dL/dc*_prev
    // Per-sequence scratch (rows indexed by sorted sequence), small enough to stay in L2 across a step.
    private T[] _rec = [];     // (B, G·Hs) the recurrent part of the pre-activations of the current step
    private T[] _dhRec = [];   // (B, Hs)   dL/dh_{t−1} from step t, until the cell of t−1 adds it
    private T[] _dhStar = [];  // (B, Hs)   dL/dh* of the current step
    private T[] _dx = [];      // (N, D), only when the caller asks for dx
    private nint _in;          // the caller's x (Forward) or dh (Backward), pinned while the groups run
    private readonly ItemRows _items = new();
    private readonly bool _shareByItem;
    private bool _byItem;      // this Forward projects per distinct item (_proj) rather than per row
    private T[] _xu = [];      // (U, D) x of each distinct item
    private int _xuCount;      // U
    private T[] _proj = [];    // (U, G·Hs) x_u · Wxᵀ: the input part of every row of item u

    /// <summary>The caller's span pinned at <see cref="_in"/>.</summary>
    private unsafe ReadOnlySpan<T> Pinned(int length) => new((T*)_in, length);

    /// <summary>
    /// Forward over every sequence of <paramref name="seqs"/>: h (N, H) in the caller's row order
    /// (<c>Offsets[s] + t</c>), from x (N, D). Rows with one item id (<see cref="SequenceSet.Items"/>) must
    /// have equal x (x is a function of the item, as every caller gathers it): their projection may be shared.
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
        CheckArgs(wx, wh, wg, b, seqs, x, h, "h");
        int n = seqs.TotalSteps, hs = _hs, gates = G * hs, sx = _sx;
        Allocate(n, seqs.Count);
        _plan.Build(seqs, _chunks, GroupSizeFor(seqs.Count));
        _xuCount = _shareByItem ? _items.Build(seqs.Items) : 0;   // throws on a negative id, before anything is kept
        _forwardSeqs = seqs;
        if (n == 0) return;   // no steps: h is empty
        var plan = _plan;
        PadWeights(wx, wh, wg, b);
        Gemm.Transpose<T>(_wxT, _wxRows, gates, D, D);
        Gemm.Transpose<T>(_whT, _whRows, 4 * hs, H, H);
        if (UseGraph) Gemm.Transpose<T>(_wgT, _wgRows, 4 * hs, H, H);

        // Window mode's windows overlap: a batch's ~350k rows hold ~2–3k distinct items. Where items repeat
        // (at least two rows per item on average) the projection runs once per item, into a table the cell
        // reads; every row's input part is the same dot products either way (the same bits: a GEMM row does
        // not depend on its neighbours), since x is a function of the item.
        _byItem = _shareByItem && 2L * _xuCount <= n;
        if (_byItem)
        {
            int distinct = _xuCount;
            AssertXIsPerItem(x, n);
            Buffers.Grow(ref _xu, (long)distinct * D);
            Buffers.Grow(ref _proj, (long)distinct * gates);
            for (int u = 0; u < distinct; u++) x.Slice(_items.First[u] * D, D).CopyTo(_xu.AsSpan(u * D, D));
            Gemm.Multiply<T>(_proj, gates, _xu, D, false, _wxT, gates, false, distinct, gates, D, accumulate: false, parallel: true);
        }

        unsafe
        {
            fixed (T* px = x)
            {
                _in = (nint)px;   // the caller's x, pinned while Project reads it
                if (plan.Groups == 1)
                {
                    // One group (few sequences): the input projection split over the threads, then fixed chunks
                    // of the sorted sequences run their recurrence in parallel.
                    Project(0, n, parallel: true);
                    Parallel.For(0, plan.Chunks, ThreadLimit.Options, chunk => ForwardSteps(0, plan.ChunkStart[chunk], plan.ChunkStart[chunk + 1], 0, plan.Steps));
                }
                else
                {
                    // Each group on one thread, one time block after another: the block's input projection,
                    // then its recurrence, which reads the block's gates back from L2.
                    Parallel.For(0, plan.Chunks, ThreadLimit.Options, chunk =>
                    {
                        for (int g = plan.ChunkGroup[chunk]; g < plan.ChunkGroup[chunk + 1]; g++)
                            for (int t0 = 0; t0 < plan.Steps; t0 += TimeBlock)
                            {
                                int t1 = Math.Min(plan.Steps, t0 + TimeBlock), ra = plan.Row(g, t0), rb = plan.Row(g, t1);
                                if (ra == rb) break;   // the group's sequences have ended
                                Project(ra, rb, parallel: false);
                                ForwardSteps(g, plan.FirstSequence(g), plan.FirstSequence(g + 1), t0, t1);
                            }
                    });
                }
                _in = 0;
            }
        }

        for (int r = 0; r < n; r++) _h.AsSpan(r * hs, H).CopyTo(h.Slice(plan.Source[r] * H, H));
    }

    /// <summary>The contract that lets rows share their item's projection: equal ids, equal x (checked in Debug builds).</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertXIsPerItem(ReadOnlySpan<T> x, int n)
    {
        for (int r = 0; r < n; r++)
            System.Diagnostics.Debug.Assert(x.Slice(r * D, D).SequenceEqual(x.Slice(_items.First[_items.Slot[r]] * D, D)),
                $"graph-LSTM: row {r} has the item id of row {_items.First[_items.Slot[r]]} but a different x");
    }

    /// <summary>
    /// Sequences per block of a step: the block's recurrent GEMMs write its rows of _rec (RowBlock × G·Hs,
    /// 128 KiB at H = 64) and its cells read them back while they are still in L2. Rows are independent
    /// within a step, so the blocking changes no bit.
    /// </summary>
    private const int RowBlock = 64;

    /// <summary>
    /// Sorted sequences per group: a group's input projection is one GEMM run just before its recurrence,
    /// and its weight gradients GEMMs run just after its backward recurrence, so the recurrence and those
    /// GEMMs find the group's gates in cache rather than in memory (Window mode: ~2 KiB of gates and ~4 KiB of
    /// activations in all per step, ≤ 9 MB for 8 sequences of 300 steps). Measured on the Window step (2-core
    /// EPYC, docs/BENCHMARKS.md): 8 and 16 both ~0.87× main's step time, 8 the steadier; 32 no gain.
    /// </summary>
    internal const int DefaultGroup = 8;

    /// <summary>
    /// Sets with fewer sequences than this run as one group (see <see cref="GraphLstmSchedule{T}"/>): with a
    /// few long sequences (SharedPrefix: ~10–20 per branch) whole groups of 8 cannot be spread evenly over the
    /// cores, so the recurrence is cut into chunks of sequences instead. Depends on the set only (SPEC D13).
    /// </summary>
    internal const int GroupedFrom = 8 * DefaultGroup;

    /// <summary>The group size for a set of <paramref name="sequences"/>: the constructor's, or by <see cref="GroupedFrom"/>.</summary>
    private int GroupSizeFor(int sequences) =>
        _group > 0 ? _group : sequences >= GroupedFrom ? DefaultGroup : Math.Max(1, sequences);

    /// <summary>
    /// Steps per time block of a group: the block's input projection runs just before its recurrence and its
    /// weight-gradient GEMMs just after its backward, so both find its gates in L2 (8 sequences × 16 steps ×
    /// ~4.5 KiB of activations at H = 64: ~0.6 MiB).
    /// </summary>
    internal const int TimeBlock = 16;

    /// <summary>
    /// The input projection of packed rows [r0, r1) (SPEC "Fusion": one GEMM for all of them): their x in
    /// packed order (the weight gradients read it there), then gates (rows, G·Hs) = x (rows, D) · Wxᵀ (D, G·Hs),
    /// the cell adding b; by item (<see cref="_byItem"/>) the cell reads the item's row of the table instead.
    /// </summary>
    private void Project(int r0, int r1, bool parallel)
    {
        var plan = _plan;
        int gates = G * _hs, sx = _sx;
        // Grouped by item, the weight gradients take x per item (ItemWeightGradients), not from _xh.
        if (_byItem && plan.Groups > 1) return;
        var x = Pinned(plan.Rows * D);
        for (int r = r0; r < r1; r++) x.Slice(plan.Source[r] * D, D).CopyTo(_xh.AsSpan(r * sx + _hs, D));
        if (_byItem) return;
        Gemm.Multiply<T>(_gates.AsSpan(r0 * gates), gates, _xh.AsSpan(r0 * sx + _hs), sx, false, _wxT, gates, false, r1 - r0, gates, D, accumulate: false, parallel: parallel);
    }

    /// <summary>The recurrence of the sorted sequences [j0, j1) of group g over steps [t0, t1), in order.</summary>
    private void ForwardSteps(int g, int j0, int j1, int t0, int t1)
    {
        var plan = _plan;
        for (int t = t0; t < t1; t++)
        {
            int rows = Math.Min(j1, plan.Active[t]) - j0;
            if (rows <= 0) break;
            for (int k0 = 0; k0 < rows; k0 += RowBlock) ForwardBlock(g, t, j0 + k0, Math.Min(RowBlock, rows - k0));
        }
    }

    /// <summary>Step t of the sorted sequences [j, j + rows) of group g.</summary>
    private void ForwardBlock(int g, int t, int j, int rows)
    {
        int hs = _hs, gates = G * hs, rec = 4 * hs;
        var plan = _plan;
        int at = j - g * plan.GroupSize;
        int r0 = plan.Row(g, t) + at;
        int q0 = t > 0 ? plan.Row(g, t - 1) + at : -1;   // the same sequences one step earlier

        // Sequential path: rec[:, 0:4Hs] = h_{t−1} (rows, H) · Whᵀ (H, 4Hs), into the block's rows of the
        // small _rec rather than onto the gates, which come from memory: the cell adds them there.
        // h_{t−1} is in place already: the cell of step t−1 wrote it there too (zero at t = 0).
        int sx = _sx;
        if (t == 0)
            for (int r = r0; r < r0 + rows; r++) _xh.AsSpan(r * sx, hs).Clear();
        if (t > 0) Gemm.Multiply<T>(_rec.AsSpan(j * gates), gates, _xh.AsSpan(r0 * sx), sx, false, _whT, rec, false, rows, rec, H, accumulate: false);

        // Graph path: rec[:, 4Hs:8Hs] = h* (rows, H) · Wgᵀ (H, 4Hs).
        if (UseGraph)
        {
            for (int r = r0; r < r0 + rows; r++) GatherGraphState(r, t > 0 ? q0 + (r - r0) : -1);
            Gemm.Multiply<T>(_rec.AsSpan(j * gates + rec), gates, _xh.AsSpan(r0 * sx + hs + D), sx, false, _wgT, rec, false, rows, rec, H, accumulate: false);
        }

        // Sequences [j, j + withNext) have a step t+1, whose rows start at n0.
        int withNext = t + 1 < plan.Steps ? Math.Clamp(plan.Active[t + 1] - j, 0, rows) : 0, n0 = plan.Row(g, t + 1) + at;
        for (int r = r0; r < r0 + rows; r++)
            CellForward(r, t > 0 ? q0 + (r - r0) : -1, j + (r - r0), r - r0 < withNext ? n0 + (r - r0) : -1);
    }

    /// <summary>h* and c*_prev of row r (SPEC D4, D5): means over its valid predecessors.</summary>
    private void GatherGraphState(int r, int prev)
    {
        int hs = _hs, w = Simd<T>.Width, s0 = r * hs, hStar = r * _sx + hs + D;
        var scale = Vector512.Create(_plan.PredScale[r]);
        bool neighbor = CStar == CStarReading.Neighbor;
        for (int e = 0; e < hs; e += w)
        {
            Vector512<T> hSum = Vector512<T>.Zero, cSum = Vector512<T>.Zero;
            for (int l = 0; l < TopL; l++)
            {
                int p = _plan.Pred[r * TopL + l];
                if (p < 0) continue;
                hSum += Simd<T>.Load(_h, p * hs + e);
                if (neighbor) cSum += Simd<T>.Load(_c, p * hs + e);
            }
            Simd<T>.Store(hSum * scale, _xh, hStar + e);
            var csPrev = neighbor ? cSum * scale : prev >= 0 ? Simd<T>.Load(_cs, prev * hs + e) : Vector512<T>.Zero;
            Simd<T>.Store(csPrev, _csPrev, s0 + e);
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
        var g = _gates;
        // The input part: row r of the gates (the block's projection), or its item's row of the table.
        T[] input = g;
        int x0 = z0;
        if (_byItem) { input = _proj; x0 = _items.Slot[_plan.Source[r]] * G * hs; }
        bool seqRec = prev >= 0;
        for (int e = 0; e < hs; e += w)
        {
            int z = z0 + e, s = s0 + e, k = k0 + e, q = e;   // q: the lane group's place in a gates row (for b)
            int xz = x0 + e;
            var i = Simd<T>.Sigmoid(Pre(input, xz, k, q, seqRec));
            var f = Simd<T>.Sigmoid(Pre(input, xz + hs, k + hs, q + hs, seqRec));
            var o = Simd<T>.Sigmoid(Pre(input, xz + 2 * hs, k + 2 * hs, q + 2 * hs, seqRec));
            var u = Simd<T>.Tanh(Pre(input, xz + 3 * hs, k + 3 * hs, q + 3 * hs, seqRec));
            Simd<T>.Store(i, g, z); Simd<T>.Store(f, g, z + hs); Simd<T>.Store(o, g, z + 2 * hs); Simd<T>.Store(u, g, z + 3 * hs);
            var c = i * u;
            if (prev >= 0) c = Simd<T>.Fma(f, Simd<T>.Load(_c, p0 + e), c);
            var tc = Simd<T>.Tanh(c);
            var h = o * tc;
            Simd<T>.Store(c, _c, s);
            if (UseGraph)
            {
                z += 4 * hs; k += 4 * hs; q += 4 * hs; xz += 4 * hs;
                var si = Simd<T>.Sigmoid(Pre(input, xz, k, q, true));
                var sf = Simd<T>.Sigmoid(Pre(input, xz + hs, k + hs, q + hs, true));
                var so = Simd<T>.Sigmoid(Pre(input, xz + 2 * hs, k + 2 * hs, q + 2 * hs, true));
                var su = Simd<T>.Tanh(Pre(input, xz + 3 * hs, k + 3 * hs, q + 3 * hs, true));
                Simd<T>.Store(si, g, z); Simd<T>.Store(sf, g, z + hs); Simd<T>.Store(so, g, z + 2 * hs); Simd<T>.Store(su, g, z + 3 * hs);
                var cs = Simd<T>.Fma(sf, Simd<T>.Load(_csPrev, s), si * su);
                var tcs = Simd<T>.Tanh(cs);
                h = Simd<T>.Fma(so, tcs, h);
                Simd<T>.Store(cs, _cs, s);
            }
            Simd<T>.Store(h, _h, s);
            if (next >= 0) Simd<T>.Store(h, _xh, hNext + e);
        }
    }

    /// <summary>dgates[z..] = g, and the sequence's db row (at k in _dbSeq) += g while g is in a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreGrad(Vector512<T> g, int z, int k)
    {
        Simd<T>.Store(g, _dgates, z);
        Simd<T>.Store(Simd<T>.Load(_dbSeq, k) + g, _dbSeq, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector512<T> Pre(T[] input, int z, int k, int q, bool withRec)
    {
        var p = Simd<T>.Load(input, z) + Simd<T>.Load(_bPad, q);
        return withRec ? p + Simd<T>.Load(_rec, k) : p;
    }

    /// <summary>
    /// Backward through time of the latest <see cref="Forward"/>: dx (N, D) is assigned; dWx, dWh, dWg
    /// and db are accumulated (+=), llm.c's rule. An empty dx means the caller does not need it (x has no
    /// trained part): its GEMM, 1/6 of the backward's FLOPs, is skipped and the weight gradients are the same bits.
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
        if (!ReferenceEquals(seqs, _forwardSeqs))
            throw new InvalidOperationException("graph-LSTM Backward needs the sequences of the latest Forward, and one Backward per Forward (it overwrites the activations)");
        CheckArgs(wx, wh, wg, b, seqs, x, dh, "dh");
        bool wantDx = !dx.IsEmpty;
        if (wantDx) CheckSize(dx.Length, seqs.TotalSteps * D, "dx");
        CheckSize(dwx.Length, G * H * D, "dWx");
        CheckSize(dwh.Length, 4 * H * H, "dWh");
        CheckSize(dwg.Length, UseGraph ? 4 * H * H : 0, "dWg");
        CheckSize(db.Length, G * H, "db");
        _forwardSeqs = null;   // from here on the activations are being overwritten by their gradients
        int n = seqs.TotalSteps, hs = _hs, gates = G * hs, rec = 4 * hs, sx = _sx;
        if (n == 0) return;   // no steps: nothing to add, and dx is empty
        var plan = _plan;
        PadWeights(wx, wh, wg, b);

        int b0 = seqs.Count;
        Buffers.Grow(ref _dbSeq, (long)b0 * gates);
        _dbSeq.AsSpan(0, b0 * gates).Clear();
        Buffers.Grow(ref _dwGroups, (long)plan.Groups * _dwSize);
        int wide = hs + D, dwSize = _dwSize, groups = plan.Groups, chunks = plan.Chunks;
        bool byItem = _byItem && groups > 1;
        if (byItem) GroupItems();
        unsafe
        {
            fixed (T* pdh = dh)
            {
                _in = (nint)pdh;   // the caller's dh, pinned while Seed reads it
                if (groups == 1)
                {
                    // One group: fixed chunks of sequences run their reverse-time recurrence in parallel, then the
                    // weight gradients are one GEMM per gate half over all rows.
                    Seed(0);
                    Parallel.For(0, chunks, ThreadLimit.Options, chunk => BackwardSteps(0, plan.ChunkStart[chunk], plan.ChunkStart[chunk + 1], 0, plan.Steps));
                    WeightGradients(0, 0, n, accumulate: false, parallel: true);
                }
                else
                {
                    Parallel.For(0, chunks, ThreadLimit.Options, chunk =>
                    {
                        for (int g = plan.ChunkGroup[chunk]; g < plan.ChunkGroup[chunk + 1]; g++)
                        {
                            Seed(g);
                            // Time blocks in reverse, each block's weight gradients right after its backward,
                            // added into the group's slot (the last block's first): one fixed order (SPEC D13).
                            // By item, the x columns come from the group's per-item dgates sums afterwards.
                            var scratch = byItem ? ItemScratch(chunk, g) : default;
                            bool first = true;
                            for (int t0 = (plan.Steps - 1) / TimeBlock * TimeBlock; t0 >= 0; t0 -= TimeBlock)
                            {
                                int t1 = Math.Min(plan.Steps, t0 + TimeBlock), ra = plan.Row(g, t0), rb = plan.Row(g, t1);
                                if (ra == rb) continue;   // the group's sequences end before this block
                                BackwardSteps(g, plan.FirstSequence(g), plan.FirstSequence(g + 1), t0, t1);
                                if (byItem)
                                    for (int r = ra; r < rb; r++)
                                    {
                                        var sum = scratch.Sums.AsSpan(_localSlot[r] * gates, gates);
                                        TensorPrimitives.Add(sum, _dgates.AsSpan(r * gates, gates), sum);
                                    }
                                WeightGradients(g, ra, rb, accumulate: !first, parallel: false, byItem);
                                first = false;
                            }
                            if (first) _dwGroups.AsSpan(g * dwSize, dwSize).Clear();   // a group of empty sequences
                            else if (byItem) ItemWeightGradients(g, scratch);
                        }
                    });
                }
                _in = 0;
            }
        }

        // The groups' weight gradients summed in group order (each element's sum has one fixed order, whatever
        // the thread split: SPEC D13), into group 0's slot; the element range is split over the threads.
        var dwAll = _dwGroups;
        if (groups > 1)
            Parallel.For(0, chunks, ThreadLimit.Options, chunk =>
            {
                int e0 = (int)((long)dwSize * chunk / chunks), e1 = (int)((long)dwSize * (chunk + 1) / chunks);
                var sum = dwAll.AsSpan(e0, e1 - e0);
                for (int g = 1; g < groups; g++) TensorPrimitives.Add(sum, dwAll.AsSpan(g * dwSize + e0, e1 - e0), sum);
            });
        // db: the per-sequence sums added in sorted-sequence order, which depends on the lengths only (SPEC D13).
        var dbSum = _dbSeq.AsSpan(0, gates);
        for (int j = 1; j < b0; j++) TensorPrimitives.Add(dbSum, _dbSeq.AsSpan(j * gates, gates), dbSum);
        for (int q = 0; q < G; q++)
        {
            for (int k = 0; k < H; k++)
            {
                // Gate row q·H + k: its dWx row and its dWh / dWg row, out of the padded GEMM outputs.
                int row = (q % 4 * hs + k) * wide;
                var half = _dwGroups;
                var (xAt, hAt) = q < 4 ? (row + hs, row) : (rec * wide + row, rec * wide + row + D);
                var grad = dwx.Slice((q * H + k) * D, D);
                TensorPrimitives.Add(grad, half.AsSpan(xAt, D), grad);
                var rgrad = (q < 4 ? dwh : dwg).Slice((q % 4 * H + k) * H, H);
                TensorPrimitives.Add(rgrad, half.AsSpan(hAt, H), rgrad);
            }
            var bias = db.Slice(q * H, H);
            TensorPrimitives.Add(bias, _dbSeq.AsSpan(q * hs, H), bias);
        }

        // dx (N, D) = dgates (N, G·Hs) · Wx (G·Hs, D), scattered back to the caller's order.
        if (!wantDx) return;
        Buffers.Grow(ref _dx, (long)n * D);
        Gemm.Multiply<T>(_dx, D, _dgates, gates, false, _wxRows, D, false, n, D, gates, accumulate: false, parallel: true);
        for (int r = 0; r < n; r++) _dx.AsSpan(r * D, D).CopyTo(dx.Slice(plan.Source[r] * D, D));
    }

    /// <summary>
    /// Group g's rows before its backward: dh from above seeds each row's dL/dh (pad lanes zero); the cell
    /// gradients start at zero and gather the fan-in, which stays inside the group's rows.
    /// </summary>
    private void Seed(int g)
    {
        var plan = _plan;
        int hs = _hs, r0 = plan.GroupRow[g], r1 = plan.GroupRow[g + 1];
        var dhAbove = Pinned(plan.Rows * H);
        for (int r = r0; r < r1; r++)
        {
            var row = _dh.AsSpan(r * hs, hs);
            dhAbove.Slice(plan.Source[r] * H, H).CopyTo(row);
            row[H..].Clear();
        }
        _dc.AsSpan(r0 * hs, (r1 - r0) * hs).Clear();
        if (UseGraph) _dcs.AsSpan(r0 * hs, (r1 - r0) * hs).Clear();
    }

    /// <summary>The reverse-time recurrence of the sorted sequences [j0, j1) of group g over steps [t0, t1).</summary>
    private void BackwardSteps(int g, int j0, int j1, int t0, int t1)
    {
        var plan = _plan;
        for (int t = t1 - 1; t >= t0; t--)
        {
            int rows = Math.Min(j1, plan.Active[t]) - j0;
            if (rows <= 0) continue;
            int withNext = t + 1 < plan.Steps ? Math.Max(0, Math.Min(j1, plan.Active[t + 1]) - j0) : 0;
            // Blocks of RowBlock sequences: each block's rows of _dhRec and _dhStar are read back while hot.
            // A row's fan-in goes to earlier rows of its own sequence only, so no sum sees the blocking.
            for (int k0 = 0; k0 < rows; k0 += RowBlock)
                BackwardBlock(g, t, j0 + k0, Math.Min(RowBlock, rows - k0), Math.Clamp(withNext - k0, 0, RowBlock));
        }
    }

    /// <summary>
    /// The weight gradients of group g's packed rows [r0, r1) into (or, with <paramref name="accumulate"/>,
    /// added to) its slot of <see cref="_dwGroups"/>, each gate half one GEMM over those rows (run right after
    /// their backward, their dgates are still in cache):
    /// [dWh | dWx rows 0:4H]  (4Hs, Hs + D) = dgates[:, 0:4Hs]ᵀ (4Hs, rows) · [h_{t−1} | x] (rows, Hs + D)
    /// [dWx rows 4H:8H | dWg] (4Hs, D + Hs) = dgates[:, 4Hs:8Hs]ᵀ (4Hs, rows) · [x | h*] (rows, D + Hs)
    /// With <paramref name="parallel"/> (one group), the two halves run one thread each, or the one GEMM is
    /// split over the threads; each element is one GEMM's fixed-order sum whatever runs where (SPEC D13).
    /// </summary>
    private void WeightGradients(int g, int r0, int r1, bool accumulate, bool parallel, bool hOnly = false)
    {
        int hs = _hs, gates = G * hs, rec = 4 * hs, sx = _sx, wide = hs + D, rows = r1 - r0;
        var dwAll = _dwGroups;
        int at = g * _dwSize;
        // hOnly: the h columns alone ([dWh | ·] and [· | dWg]); the x columns come from ItemWeightGradients.
        int cols = hOnly ? hs : wide, graphAt = hOnly ? D : 0;
        void Sequential(bool split) => Gemm.Multiply<T>(dwAll.AsSpan(at, rec * wide), wide, _dgates.AsSpan(r0 * gates), gates, true,
            _xh.AsSpan(r0 * sx), sx, false, rec, cols, rows, accumulate, parallel: split);
        void Graph() => Gemm.Multiply<T>(dwAll.AsSpan(at + rec * wide + graphAt, rec * wide - graphAt), wide, _dgates.AsSpan(r0 * gates + rec), gates, true,
            _xh.AsSpan(r0 * sx + hs + graphAt), sx, false, rec, cols, rows, accumulate);
        if (!UseGraph) Sequential(parallel);
        else if (parallel) Parallel.Invoke(ThreadLimit.Options, () => Sequential(false), Graph);
        else { Sequential(false); Graph(); }
    }

    /// <summary>A chunk's scratch for one group by item: the group's per-item dgates sums and its items' x.</summary>
    private readonly record struct ItemSums(T[] Sums, T[] X, int Count);

    private T[][] _chunkSums = [], _chunkX = [];

    /// <summary>Zeroed per-item sums for group g, in chunk <paramref name="chunk"/>'s scratch (one thread at a time).</summary>
    private ItemSums ItemScratch(int chunk, int g)
    {
        int count = _groupItemStart[g + 1] - _groupItemStart[g], gates = G * _hs;
        Buffers.Grow(ref _chunkSums[chunk], (long)count * gates);
        Buffers.Grow(ref _chunkX[chunk], (long)count * D);
        _chunkSums[chunk].AsSpan(0, count * gates).Clear();
        return new ItemSums(_chunkSums[chunk], _chunkX[chunk], count);
    }

    /// <summary>
    /// The x columns of group g's weight gradients by item: Σ_rows dgatesᵀ x = Σ_items (Σ_{rows of the item}
    /// dgates)ᵀ x_item, so each gate half is one GEMM over the group's distinct items instead of its rows
    /// (Window mode: ~8× fewer):
    /// [· | dWx rows 0:4H] (4Hs, D) = sums[:, 0:4Hs]ᵀ (4Hs, U_g) · x_u (U_g, D), and likewise rows 4H:8H.
    /// </summary>
    private void ItemWeightGradients(int g, ItemSums scratch)
    {
        int hs = _hs, gates = G * hs, rec = 4 * hs, wide = hs + D, count = scratch.Count, first = _groupItemStart[g];
        for (int i = 0; i < count; i++) _xu.AsSpan(_groupItems[first + i] * D, D).CopyTo(scratch.X.AsSpan(i * D, D));
        var dw = _dwGroups.AsSpan(g * _dwSize, _dwSize);
        Gemm.Multiply<T>(dw[hs..], wide, scratch.Sums, gates, true, scratch.X, D, false, rec, D, count, accumulate: false);
        if (UseGraph)
            Gemm.Multiply<T>(dw[(rec * wide)..], wide, scratch.Sums.AsSpan(rec), gates, true, scratch.X, D, false, rec, D, count, accumulate: false);
    }

    private int[] _rowItem = [];        // (N) packed row → its distinct item (into _xu)
    private int[] _localSlot = [];      // (N) packed row → its item's index within its group
    private int[] _groupItemStart = []; // (groups+1) CSR of each group's distinct items
    private int[] _groupItems = [];     // distinct-item indices (into _xu) of each group, in first-row order
    private readonly ItemRows _groupRows = new();

    /// <summary>Each group's distinct items and each row's place among them (for the by-item weight gradients).</summary>
    private void GroupItems()
    {
        var plan = _plan;
        int n = plan.Rows, groups = plan.Groups;
        Buffers.Grow(ref _rowItem, n);
        Buffers.Grow(ref _localSlot, n);
        Buffers.Grow(ref _groupItems, n);
        Buffers.Grow(ref _groupItemStart, groups + 1);
        for (int r = 0; r < n; r++) _rowItem[r] = _items.Slot[plan.Source[r]];
        int count = 0;
        for (int g = 0; g < groups; g++)
        {
            int r0 = plan.GroupRow[g], rows = plan.GroupRow[g + 1] - r0;
            _groupItemStart[g] = count;
            int distinct = _groupRows.Build(_rowItem.AsSpan(r0, rows));
            _groupRows.Slot.AsSpan(0, rows).CopyTo(_localSlot.AsSpan(r0));
            for (int i = 0; i < distinct; i++) _groupItems[count++] = _rowItem[r0 + _groupRows.First[i]];
        }
        _groupItemStart[groups] = count;
        if (_chunkSums.Length < plan.Chunks) { Array.Resize(ref _chunkSums, plan.Chunks); Array.Resize(ref _chunkX, plan.Chunks); }
        for (int c = 0; c < plan.Chunks; c++) { _chunkSums[c] ??= []; _chunkX[c] ??= []; }
    }

    /// <summary>Step t of the sorted sequences [j, j + rows) of group g backward; the first withNext of them have a step t+1.</summary>
    private void BackwardBlock(int g, int t, int j, int rows, int withNext)
    {
        int hs = _hs, gates = G * hs, rec = 4 * hs;
        var plan = _plan;
        int at = j - g * plan.GroupSize;
        int r0 = plan.Row(g, t) + at;
        int q0 = t > 0 ? plan.Row(g, t - 1) + at : -1;

        // Every later step has already added into row r's dh (the first withNext rows also have step
        // t+1's share waiting in _dhRec) and dc, so they are complete here.
        for (int r = r0; r < r0 + rows; r++)
            CellBackward(r, t > 0 ? q0 + (r - r0) : -1, r - r0 < withNext ? j + (r - r0) : -1, j + (r - r0));

        // Step t−1's share of dh: dhRec (rows, H) = dgates[:, 0:4Hs] (rows, 4Hs) · Wh (4Hs, H), kept in
        // the small L2-resident _dhRec until the cell of step t−1 adds it.
        if (t > 0)
            Gemm.Multiply<T>(_dhRec.AsSpan(j * hs), hs, _dgates.AsSpan(r0 * gates), gates, false, _whRows, H, false, rows, H, rec, accumulate: false);
        if (UseGraph)
        {
            // dh* = dgates[:, 4Hs:8Hs] · Wg, then the fan-in: each t* receives its share of the mean.
            Gemm.Multiply<T>(_dhStar.AsSpan(j * hs), hs, _dgates.AsSpan(r0 * gates + rec), gates, false, _wgRows, H, false, rows, H, rec, accumulate: false);
            for (int r = r0; r < r0 + rows; r++) ScatterToPredecessors(r, (j + r - r0) * hs);
        }
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
        for (int l = 0; l < TopL; l++)
        {
            int p = _plan.Pred[r * TopL + l];
            if (p < 0) continue;
            for (int e = 0; e < hs; e += w)
            {
                int d = p * hs + e;
                Simd<T>.Store(Simd<T>.Fma(Simd<T>.Load(_dhStar, at + e), scale, Simd<T>.Load(_dh, d)), _dh, d);
                if (neighbor) Simd<T>.Store(Simd<T>.Fma(Simd<T>.Load(_dcs, s0 + e), scale, Simd<T>.Load(_dc, d)), _dc, d);
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
        var one = Vector512<T>.One;
        for (int e = 0; e < hs; e += w)
        {
            int z = z0 + e, s = s0 + e, k = k0 + e;
            var i = Simd<T>.Load(a, z); var f = Simd<T>.Load(a, z + hs);
            var o = Simd<T>.Load(a, z + 2 * hs); var u = Simd<T>.Load(a, z + 3 * hs);
            var dh = next >= 0 ? Simd<T>.Load(_dh, s) + Simd<T>.Load(_dhRec, next * hs + e) : Simd<T>.Load(_dh, s);
            // tanh(c_t) again rather than stored: the same bits as the forward's, and two fewer (N, Hs)
            // buffers through memory (the backward is memory-bound, the exp is not).
            var tc = Simd<T>.Tanh(Simd<T>.Load(_c, s));
            var dc = Simd<T>.Load(_dc, s) + dh * o * (one - tc * tc);
            var cPrev = prev >= 0 ? Simd<T>.Load(_c, p0 + e) : Vector512<T>.Zero;
            StoreGrad(dc * u * i * (one - i), z, k);
            StoreGrad(dc * cPrev * f * (one - f), z + hs, k + hs);
            StoreGrad(dh * tc * o * (one - o), z + 2 * hs, k + 2 * hs);
            StoreGrad(dc * i * (one - u * u), z + 3 * hs, k + 3 * hs);
            if (prev >= 0) Simd<T>.Store(Simd<T>.Fma(dc, f, Simd<T>.Load(_dc, p0 + e)), _dc, p0 + e);
            if (!UseGraph) continue;

            z += 4 * hs; k += 4 * hs;
            i = Simd<T>.Load(a, z); f = Simd<T>.Load(a, z + hs);
            o = Simd<T>.Load(a, z + 2 * hs); u = Simd<T>.Load(a, z + 3 * hs);
            var tcs = Simd<T>.Tanh(Simd<T>.Load(_cs, s));
            var dcs = Simd<T>.Load(_dcs, s) + dh * o * (one - tcs * tcs);
            StoreGrad(dcs * u * i * (one - i), z, k);
            StoreGrad(dcs * Simd<T>.Load(_csPrev, s) * f * (one - f), z + hs, k + hs);
            StoreGrad(dh * tcs * o * (one - o), z + 2 * hs, k + 2 * hs);
            StoreGrad(dcs * i * (one - u * u), z + 3 * hs, k + 3 * hs);
            Simd<T>.Store(dcs * f, _dcs, s);   // now dL/dc*_prev
        }
        if (!UseGraph) return;
        // Neighbor: dL/dc*_prev goes to the predecessors' dc with dh*'s share, in ScatterToPredecessors.
        if (CStar == CStarReading.Carried && prev >= 0) _dcs.AsSpan(s0, hs).CopyTo(_dcs.AsSpan(p0, hs));
    }

    /// <summary>The padded copies of the caller's weights: gate block q, unit k → row q·Hs + k; pads zero.</summary>
    private void PadWeights(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b)
    {
        int hs = _hs;
        for (int q = 0; q < G; q++)
            for (int k = 0; k < hs; k++)
            {
                var row = _wxRows.AsSpan((q * hs + k) * D, D);
                if (k < H)
                {
                    wx.Slice((q * H + k) * D, D).CopyTo(row);
                    _bPad[q * hs + k] = b[q * H + k];
                }
                else
                {
                    row.Clear();
                    _bPad[q * hs + k] = T.Zero;
                }
            }
        PadRows(_whRows, wh);
        if (UseGraph) PadRows(_wgRows, wg);
    }

    /// <summary>(4H, H) → (4Hs, H) with zero pad rows.</summary>
    private void PadRows(T[] dst, ReadOnlySpan<T> src)
    {
        for (int q = 0; q < 4; q++)
            for (int k = 0; k < _hs; k++)
            {
                var row = dst.AsSpan((q * _hs + k) * H, H);
                if (k < H) src.Slice((q * H + k) * H, H).CopyTo(row); else row.Clear();
            }
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

    /// <summary>Grows the activation buffers to N rows and the scratch to B sequences; never shrinks.</summary>
    private void Allocate(int n, int b)
    {
        if (_dhRec.Length < b * _hs)
        {
            _rec = new T[b * G * _hs]; _dhRec = new T[b * _hs]; _dhStar = new T[b * _hs];
        }
        if (_c.Length >= n * _hs) return;
        // Headroom (Buffers), the same number of rows for every activation buffer, within what one array can
        // hold: the gates buffer, G·Hs per row, is the widest.
        long most = Array.MaxLength / (G * _hs);
        if (n > most) throw new ArgumentException($"graph-LSTM: {n} rows do not fit one buffer (at most {most} at H = {H})");
        n = (int)Math.Min(Buffers.WithHeadroom(n, first: _c.Length == 0), most);
        int ns = n * _hs, gs = UseGraph ? ns : 0;
        _xh = Buffers.Allocate<T>((long)n * _sx);
        _gates = _dgates = Buffers.Allocate<T>((long)n * G * _hs);
        _c = Buffers.Allocate<T>(ns); _h = Buffers.Allocate<T>(ns); _dh = Buffers.Allocate<T>(ns); _dc = Buffers.Allocate<T>(ns);
        _csPrev = Buffers.Allocate<T>(gs); _cs = Buffers.Allocate<T>(gs); _dcs = Buffers.Allocate<T>(gs);
    }
}
