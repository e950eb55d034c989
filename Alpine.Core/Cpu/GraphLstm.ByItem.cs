using System.Numerics.Tensors;
using Alpine.Prep;

namespace Alpine.Cpu;

/// <summary>By item (<see cref="GraphLstm{T}"/>, "By item" in the class notes): where rows repeat items, the input
/// projection runs once per distinct item, and in groups dWx's x columns are summed per item before their GEMM.</summary>
public sealed partial class GraphLstm<T>
{
    private readonly ItemRows _items = new();
    private readonly bool _shareByItem;
    private bool _byItem;      // this Forward projects per distinct item (_proj) rather than per row
    private T[] _xu = [];      // (U, D) x of each distinct item
    private int _xuCount;      // U
    private T[] _proj = [];    // (U, G·Hs) x_u · Wxᵀ: the input part of every row of item u

    /// <summary>The contract that lets rows share their item's projection: equal ids, equal x (checked in Debug builds).</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertXIsPerItem(ReadOnlySpan<T> x, int n)
    {
        for (int r = 0; r < n; r++)
            System.Diagnostics.Debug.Assert(x.Slice(r * D, D).SequenceEqual(x.Slice(_items.First[_items.Slot[r]] * D, D)),
                $"graph-LSTM: row {r} has the item id of row {_items.First[_items.Slot[r]]} but a different x");
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


    /// <summary>The set's distinct items, when the caller shares projections by item.</summary>
    private void IndexItems(SequenceSet seqs) => _xuCount = _shareByItem ? _items.Build(seqs.Items) : 0;

    /// <summary>
    /// Window mode's windows overlap: a batch's ~350k rows hold ~2–3k distinct items. Where items repeat
    /// (at least two rows per item on average) the projection runs once per item, into a table the cell
    /// reads; every row's input part is the same dot products either way (the same bits: a GEMM row does
    /// not depend on its neighbours), since x is a function of the item.
    /// </summary>
    private void ProjectByItem(ReadOnlySpan<T> x, int n)
    {
        _byItem = _shareByItem && 2L * _xuCount <= n;
        if (!_byItem) return;
        int distinct = _xuCount, gates = G * _hs;
        AssertXIsPerItem(x, n);
        Buffers.Grow(ref _xu, (long)distinct * D);
        Buffers.Grow(ref _proj, (long)distinct * gates);
        for (int u = 0; u < distinct; u++) x.Slice(_items.First[u] * D, D).CopyTo(_xu.AsSpan(u * D, D));
        Gemm.Multiply<T>(_proj, gates, _xu, D, false, _wxT, gates, false, distinct, gates, D, accumulate: false, parallel: true);
    }

    /// <summary>Adds the dgates of packed rows [r0, r1) into their items' sums of <paramref name="scratch"/>.</summary>
    private void AddItemSums(ItemSums scratch, int r0, int r1)
    {
        int gates = G * _hs;
        for (int r = r0; r < r1; r++)
        {
            var sum = scratch.Sums.AsSpan(_localSlot[r] * gates, gates);
            TensorPrimitives.Add(sum, _dgates.AsSpan(r * gates, gates), sum);
        }
    }
}
