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
/// plus the element-wise cell, then its h out to the caller's rows. Backward runs each group's blocks in reverse
/// time, each block's weight gradients (GEMMs over its rows) right after its backward, added into a per-group
/// slot, then its dx (one GEMM over its rows) out to the caller's rows; the slots are added in group order. A
/// block's gates (~2 KiB a row at H = 64) are thus still in L2 when the recurrence and the GEMMs read them,
/// and no sum depends on the thread count or timing. One group
/// (SharedPrefix: ~10–20 long sequences per branch) instead projects all rows with the threads sharing the
/// GEMM, runs fixed chunks of its sequences' recurrence in parallel, its weight gradients and dx over all rows,
/// and copies h and dx out in fixed row ranges over the threads.
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
/// the recurrence runs blocks of <see cref="StepBlock"/> sequences per step so the recurrent
/// pre-activations stay in L2; the backward cell writes dgates over the activations it has just read; the
/// weight gradients are one GEMM per gate half, whose B operand [h_{t−1} | x] or [x | h*] is two
/// neighbouring column ranges of one (N, Hs + D + Hs) buffer, so each half of dgates is read once.
/// </para>
/// <para>
/// The class is split by job: this file holds the layer's contract and its two passes; GraphLstm.Plan.cs how a
/// pass walks groups, time blocks and steps, and its copies into and out of the caller's row order;
/// GraphLstm.Cell.cs the element-wise cell and its backward; GraphLstm.ByItem.cs the per-item projection and weight
/// gradients; GraphLstm.PaddedWeights.cs the padded weight copies; GraphLstm.Buffers.cs the buffers the layer owns;
/// GraphLstmSchedule.cs the packed row order.
/// </para>
/// The layer owns its activation buffers; they grow only when a larger step count arrives.
/// <see cref="Backward"/> reads the activations of the latest <see cref="Forward"/>, which must have had
/// the same weights, sequences and inputs, and overwrites them with their gradients: one Backward per Forward.
/// </summary>
public sealed partial class GraphLstm<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
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
        _wxPanels = WxPanels ? new T[Gemm.PanelsLength<T>(d, gates)] : [];
        _bPad = new T[gates];
        _dwSize = rec * (_hs + d) * (useGraph ? 2 : 1);
        _whRows = new T[rec * h]; _whT = new T[h * (rec + w)];
        _wgRows = useGraph ? new T[rec * h] : []; _wgT = useGraph ? new T[h * (rec + w)] : [];
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

    /// <summary>
    /// Forward over every sequence of <paramref name="seqs"/>: h (N, H) in the caller's row order
    /// (<c>Offsets[s] + t</c>), from x (N, D). Rows with one item id (<see cref="SequenceSet.Items"/>) must
    /// have equal x (x is a function of the item, as every caller gathers it): their projection may be shared.
    /// </summary>
    /// <exception cref="ArgumentException">A size does not match the layer and the sequences, or h overlaps x (h is
    /// written block by block while later blocks still read x).</exception>
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
        // h is written block by block while later blocks still read x.
        if (x.Overlaps(h)) throw new ArgumentException("graph-LSTM Forward: h must not overlap x");
        int n = seqs.TotalSteps, hs = _hs;
        Allocate(n, seqs.Count);
        _plan.Build(seqs, _chunks, GroupSizeFor(seqs.Count));
        IndexItems(seqs);   // throws on a negative id, before anything is kept
        _forwardSeqs = seqs;
        if (n == 0) return;   // no steps: h is empty
        var plan = _plan;
        PadWeights(wx, wh, wg, b, transposed: true);

        ProjectByItem(x, n);
        if (WxPanels && !_byItem) Gemm.PackPanels<T>(_wxPanels, _wxT, G * hs, D, G * hs);   // Project's B, once

        unsafe
        {
            fixed (T* px = x)
            fixed (T* ph = h)
            try
            {
                _in = (nint)px;   // the caller's x, pinned while Project reads it
                _out = (nint)ph;  // and h, while the blocks write it
                if (plan.Groups == 1)
                {
                    // One group (few sequences): the input projection split over the threads, then fixed chunks
                    // of the sorted sequences run their recurrence in parallel.
                    Project(0, n, parallel: true);
                    Parallel.For(0, plan.Chunks, ThreadLimit.Options, chunk => ForwardSteps(0, plan.ChunkStart[chunk], plan.ChunkStart[chunk + 1], 0, plan.Steps));
                    CopyOutAll(_h, hs, H);
                }
                else
                {
                    // Each group on one thread, one time block after another: the block's input projection,
                    // then its recurrence, which reads the block's gates back from L2, then its h out to the
                    // caller's rows while it is still in cache.
                    Parallel.For(0, plan.Chunks, ThreadLimit.Options, chunk =>
                    {
                        for (int g = plan.ChunkGroup[chunk]; g < plan.ChunkGroup[chunk + 1]; g++)
                            for (int t0 = 0; t0 < plan.Steps; t0 += TimeBlock)
                            {
                                int t1 = Math.Min(plan.Steps, t0 + TimeBlock), ra = plan.Row(g, t0), rb = plan.Row(g, t1);
                                if (ra == rb) break;   // the group's sequences have ended
                                Project(ra, rb, parallel: false);
                                ForwardSteps(g, plan.FirstSequence(g), plan.FirstSequence(g + 1), t0, t1);
                                CopyOut(_h, hs, H, ra, rb);
                            }
                    });
                }
            }
            finally { _in = _out = 0; }   // the pins end here
        }
    }

    /// <summary>
    /// Backward through time of the latest <see cref="Forward"/>: dx (N, D) is assigned; dWx, dWh, dWg
    /// and db are accumulated (+=), llm.c's rule. An empty dx means the caller does not need it (x has no
    /// trained part): its GEMM, 1/6 of the backward's FLOPs, is skipped and the weight gradients are the same bits.
    /// </summary>
    /// <exception cref="ArgumentException">A size does not match, or dx overlaps dh (dx is written block by block while
    /// later blocks still read dh).</exception>
    /// <exception cref="InvalidOperationException">The sequences are not those of the latest Forward, or that Forward's
    /// activations were consumed by a Backward already.</exception>
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
        // dx is written block by block while later blocks still read dh.
        if (wantDx && dx.Overlaps(dh)) throw new ArgumentException("graph-LSTM Backward: dx must not overlap dh");
        CheckSize(dwx.Length, G * H * D, "dWx");
        CheckSize(dwh.Length, 4 * H * H, "dWh");
        CheckSize(dwg.Length, UseGraph ? 4 * H * H : 0, "dWg");
        CheckSize(db.Length, G * H, "db");
        _forwardSeqs = null;   // from here on the activations are being overwritten by their gradients
        int n = seqs.TotalSteps, gates = G * _hs;
        if (n == 0) return;   // no steps: nothing to add, and dx is empty
        var plan = _plan;
        PadWeights(wx, wh, wg, b, transposed: false);

        int b0 = seqs.Count;
        Buffers.Grow(ref _dbSeq, (long)b0 * gates);
        _dbSeq.AsSpan(0, b0 * gates).Clear();
        Buffers.Grow(ref _dwGroups, (long)plan.Groups * _dwSize);
        int dwSize = _dwSize, groups = plan.Groups, chunks = plan.Chunks;
        bool byItem = _byItem && groups > 1;
        if (byItem) GroupItems();
        unsafe
        {
            fixed (T* pdh = dh)
            fixed (T* pdx = dx)
            try
            {
                _in = (nint)pdh;   // the caller's dh, pinned while Seed reads it
                _out = (nint)pdx;  // and dx (when wanted), while the blocks write it
                if (wantDx) Buffers.Grow(ref _dx, (long)n * D);
                if (groups == 1)
                {
                    // One group: fixed chunks of sequences run their reverse-time recurrence in parallel, then the
                    // weight gradients are one GEMM per gate half over all rows.
                    Seed(0);
                    Parallel.For(0, chunks, ThreadLimit.Options, chunk => BackwardSteps(0, plan.ChunkStart[chunk], plan.ChunkStart[chunk + 1], 0, plan.Steps));
                    WeightGradients(0, 0, n, accumulate: false, parallel: true);
                    if (wantDx)
                    {
                        InputGradient(0, n, parallel: true);
                        CopyOutAll(_dx, D, D);
                    }
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
                                if (byItem) AddItemSums(scratch, ra, rb);
                                WeightGradients(g, ra, rb, accumulate: !first, parallel: false, byItem);
                                if (wantDx)
                                {
                                    InputGradient(ra, rb, parallel: false);
                                    CopyOut(_dx, D, D, ra, rb);
                                }
                                first = false;
                            }
                            if (first) _dwGroups.AsSpan(g * dwSize, dwSize).Clear();   // a group of empty sequences
                            else if (byItem) ItemWeightGradients(g, scratch);
                        }
                    });
                }
            }
            finally { _in = _out = 0; }   // the pins end here
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
        AddUnpadded(dwx, dwh, dwg, db);
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
}
