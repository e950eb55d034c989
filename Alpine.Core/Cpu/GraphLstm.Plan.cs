using System.Numerics.Tensors;
using Alpine.Model;

namespace Alpine.Cpu;

/// <summary>How <see cref="GraphLstm{T}"/>'s passes walk the packed rows (SPEC "Fusion", D13): group and time-block
/// sizes, the input projection of a row range, the steps of a group forward and backward in blocks of sequences,
/// and the weight-gradient GEMMs of a row range. No sum here depends on the thread count.</summary>
public sealed partial class GraphLstm<T>
{
    /// <summary>
    /// Sequences per block of a step: the block's recurrent GEMMs write its rows of _rec (StepBlock × G·Hs,
    /// 128 KiB at H = 64) and its cells read them back while they are still in L2. Rows are independent
    /// within a step, so the blocking changes no bit.
    /// </summary>
    private const int StepBlock = 64;

    /// <summary>
    /// Sorted sequences per group: a group's input projection is one GEMM run just before its recurrence,
    /// and its weight gradients GEMMs run just after its backward recurrence, so the recurrence and those
    /// GEMMs find the group's gates in cache rather than in memory (Window mode: ~2 KiB of gates and ~4 KiB of
    /// activations in all per step, ≤ 9 MB for 8 sequences of 300 steps, within a last-level cache). 8 was the
    /// steadiest size when the Window step was timed against other group sizes (the figures are in the git history
    /// of docs/BENCHMARKS.md); larger groups only grow the working set.
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
        if (WxPanels && Gemm.PackedPays(r1 - r0, gates, D))
            Gemm.MultiplyPanels<T>(_gates.AsSpan(r0 * gates), gates, _xh.AsSpan(r0 * sx + _hs), sx, _wxPanels, r1 - r0, gates, D, accumulate: false, parallel: parallel);
        else
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
            for (int k0 = 0; k0 < rows; k0 += StepBlock) ForwardBlock(g, t, j0 + k0, Math.Min(StepBlock, rows - k0));
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
        if (t > 0) Gemm.Multiply<T>(_rec.AsSpan(j * gates), gates, _xh.AsSpan(r0 * sx), sx, false, _whT, RecStride, false, rows, rec, H, accumulate: false);

        // Graph path: rec[:, 4Hs:8Hs] = h* (rows, H) · Wgᵀ (H, 4Hs).
        if (UseGraph)
        {
            for (int r = r0; r < r0 + rows; r++) GatherGraphState(r, t > 0 ? q0 + (r - r0) : -1);
            Gemm.Multiply<T>(_rec.AsSpan(j * gates + rec), gates, _xh.AsSpan(r0 * sx + hs + D), sx, false, _wgT, RecStride, false, rows, rec, H, accumulate: false);
        }

        // Sequences [j, j + withNext) have a step t+1, whose rows start at n0.
        int withNext = t + 1 < plan.Steps ? Math.Clamp(plan.Active[t + 1] - j, 0, rows) : 0, n0 = plan.Row(g, t + 1) + at;
        for (int r = r0; r < r0 + rows; r++)
            CellForward(r, t > 0 ? q0 + (r - r0) : -1, j + (r - r0), r - r0 < withNext ? n0 + (r - r0) : -1);
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
            // Blocks of StepBlock sequences: each block's rows of _dhRec and _dhStar are read back while hot.
            // A row's fan-in goes to earlier rows of its own sequence only, so no sum sees the blocking.
            for (int k0 = 0; k0 < rows; k0 += StepBlock)
                BackwardBlock(g, t, j0 + k0, Math.Min(StepBlock, rows - k0), Math.Clamp(withNext - k0, 0, StepBlock));
        }
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
    /// dx of packed rows [r0, r1): (rows, D) = dgates (rows, G·Hs) · Wx (G·Hs, D), into those rows of _dx. Each
    /// element is one GEMM's fixed-order sum, so which rows share a call changes no bit (SPEC D13).
    /// </summary>
    private void InputGradient(int r0, int r1, bool parallel)
    {
        int gates = G * _hs;
        Gemm.Multiply<T>(_dx.AsSpan(r0 * D), D, _dgates.AsSpan(r0 * gates), gates, false, _wxRows, D, false, r1 - r0, D, gates, accumulate: false, parallel: parallel);
    }

    /// <summary>
    /// Rows [r0, r1) of a packed buffer (row stride <paramref name="stride"/>, <paramref name="width"/> values a row)
    /// into the caller's output pinned at <see cref="_out"/>, each to its row in the caller's order.
    /// </summary>
    private unsafe void CopyOut(T[] packed, int stride, int width, int r0, int r1)
    {
        var source = _plan.Source;
        var to = new Span<T>((T*)_out, _plan.Rows * width);
        for (int r = r0; r < r1; r++) packed.AsSpan(r * stride, width).CopyTo(to.Slice(source[r] * width, width));
    }

    /// <summary><see cref="CopyOut"/> of all rows, split in fixed ranges over the threads.</summary>
    private void CopyOutAll(T[] packed, int stride, int width)
    {
        int n = _plan.Rows, chunks = _chunks;
        Parallel.For(0, chunks, ThreadLimit.Options, c => CopyOut(packed, stride, width, (int)((long)n * c / chunks), (int)((long)n * (c + 1) / chunks)));
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
}
