namespace Alpine.Cpu;

/// <summary>
/// The distinct item ids of a row list, in order of first appearance: <see cref="Slot"/> (rows) gives each row's
/// distinct index, <see cref="First"/> (distinct) the first row of each. Grow-only; a stamp per item id saves
/// clearing the id map between sets.
/// </summary>
internal sealed class ItemRows
{
    public int[] Slot = [];
    public int[] First = [];
    private int[] _slotOf = [];
    private int[] _stampOf = [];
    private int _stamp;

    /// <summary>Maps the rows of <paramref name="items"/>; returns the number of distinct ids.</summary>
    public int Build(ReadOnlySpan<int> items)
    {
        int n = items.Length, max = -1;
        foreach (int id in items)
        {
            if (id < 0) throw new ArgumentException($"graph-LSTM: item id {id} is negative");
            if (id > max) max = id;
        }
        if (_stampOf.Length <= max)
        {
            _stampOf = new int[max + 1];
            _slotOf = new int[max + 1];
            _stamp = 0;
        }
        if (++_stamp == int.MaxValue) { Array.Clear(_stampOf); _stamp = 1; }
        Buffers.Grow(ref Slot, n);
        Buffers.Grow(ref First, n);
        int distinct = 0;
        for (int r = 0; r < n; r++)
        {
            int id = items[r];
            if (_stampOf[id] != _stamp) { _stampOf[id] = _stamp; _slotOf[id] = distinct; First[distinct++] = r; }
            Slot[r] = _slotOf[id];
        }
        return distinct;
    }
}
