namespace Alpine.Serving;

/// <summary>
/// The cached states of one branch (click or not-click sequence) of one user: positions
/// [Total − Count, Total) of the sequence, oldest first, row r of <see cref="H"/> and <see cref="C"/> being
/// position Total − Count + r. A target reads the last min(W, Count) rows (SPEC D2, D12); Count ≥ min(W, Total).
/// The rows live in buffers of their own, or (as loaded) at an offset of a slab that holds every user's rows of the
/// branch back to back in user order (<see cref="StateSlabs"/>), so a route streams them in one pass.
/// <para>
/// Snapshots are immutable to their readers: a later snapshot may share the buffers but only writes rows at or
/// past this one's Count and before its Capacity (or copies into new buffers), so a reader holding this snapshot never
/// sees a torn row. A state in a slab has Capacity = Count: its first append copies it into buffers of its own.
/// </para>
/// </summary>
internal sealed class BranchState(float[] h, float[] c, int offset, int[] items, float[] cStarLast, int count, long total, int hidden)
{
    /// <summary>(Capacity, H) hidden states.</summary>
    public Span<float> H => h.AsSpan(offset, Capacity * hidden);
    /// <summary>(Capacity, H) sequential-path cells, read as c_{t*} (Neighbor) and c_{t−1}.</summary>
    public Span<float> C => c.AsSpan(offset, Capacity * hidden);
    /// <summary>(Capacity) the item of each position, for the next step's t* search.</summary>
    public int[] Items { get; } = items;
    /// <summary>(H) c*_{Total−1}, what the Carried reading (SPEC D5) needs; empty otherwise.</summary>
    public float[] CStarLast { get; } = cStarLast;
    public int Count { get; } = count;
    /// <summary>The sequence's length: every position ever encoded, kept or not.</summary>
    public long Total { get; } = total;
    public int Capacity => Items.Length;

    /// <summary>The rows a target attends over: the ≤ <paramref name="window"/> most recent.</summary>
    public ReadOnlySpan<float> Window(int window, out int rows)
    {
        rows = Math.Min(window, Count);
        return h.AsSpan(offset + (Count - rows) * hidden, rows * hidden);
    }

    /// <summary>This state with the row at Count (written by the caller into <see cref="H"/> and <see cref="C"/>) added.</summary>
    public BranchState Next(float[] cStarLast)
    {
        System.Diagnostics.Debug.Assert(Count < Capacity);
        return new BranchState(h, c, offset, Items, cStarLast, Count + 1, Total + 1, hidden);
    }

    /// <summary>Bytes of the snapshot's rows and items (what a user's state costs in memory, its share of a slab included).</summary>
    public long Bytes => 4L * (2L * Capacity * hidden + Items.Length + CStarLast.Length);
}

/// <summary>
/// Load-time storage of one branch's states for every user: each user's kept rows (min(W, sequence length)) back
/// to back in user order in slabs of at most 2^28 floats, H and C in separate slabs so that the H rows a route
/// reads are contiguous. Only the load writes a slab; an observe moves its user's rows out (<see cref="BranchState"/>).
/// </summary>
internal sealed class StateSlabs
{
    private const int MaxFloats = 1 << 28;
    private readonly float[][] _h, _c;
    private readonly int[] _slab, _offset;

    public StateSlabs(Prep.SequenceSet sequences, int users, int window, int hidden)
    {
        _slab = new int[users];
        _offset = new int[users];
        var sizes = new List<int>();
        int used = 0;
        for (int u = 0; u < users; u++)
        {
            int floats = Math.Min(window, sequences.Length(u)) * hidden;
            if (sizes.Count == 0 || used + floats > MaxFloats) { if (sizes.Count > 0) sizes[^1] = used; sizes.Add(0); used = 0; }
            _slab[u] = sizes.Count - 1;
            _offset[u] = used;
            used += floats;
        }
        if (sizes.Count > 0) sizes[^1] = used;
        _h = [.. sizes.Select(n => new float[n])];
        _c = [.. sizes.Select(n => new float[n])];
    }

    /// <summary>Where user <paramref name="user"/>'s rows go: the H and C slabs and the offset (floats) in both.</summary>
    public (float[] H, float[] C, int Offset) Of(int user) => (_h[_slab[user]], _c[_slab[user]], _offset[user]);
}

/// <summary>
/// Everything served for one user, as one immutable snapshot swapped in whole by <see cref="AlpineModel.Observe"/>:
/// a concurrent reader sees the user before or after an observe, never between.
/// </summary>
/// <param name="NotClick">Null when the variant drops the uninterest branch (SPEC D10).</param>
/// <param name="LastTimestamp">The latest impression's timestamp; an observed one may not be earlier (SPEC D1's order).</param>
/// <param name="Observed">Items of the impressions observed since the prepared data, in order.</param>
internal sealed record UserState(BranchState Click, BranchState? NotClick, long LastTimestamp, ItemLog Observed)
{
    public long Bytes => Click.Bytes + (NotClick?.Bytes ?? 0) + Observed.Bytes;
}

/// <summary>
/// A snapshot of the items observed for a user: the first <see cref="Count"/> of a buffer that later snapshots
/// share, so an observe appends in amortised O(1) instead of copying the list. Only a user's newest snapshot is
/// appended to (under the user's lock), and it writes past every older snapshot's Count, as <see cref="BranchState"/>.
/// </summary>
internal sealed class ItemLog(int[] buffer, int count)
{
    public static readonly ItemLog Empty = new([], 0);

    public int Count => count;
    public ReadOnlySpan<int> Items => buffer.AsSpan(0, count);
    public long Bytes => 4L * buffer.Length;

    /// <summary>This log and <paramref name="item"/>: in the same buffer while it has room, else in one twice as long.</summary>
    public ItemLog Append(int item)
    {
        int[] b = buffer;
        if (count == b.Length)
        {
            b = new int[Math.Max(8, 2 * count)];
            buffer.AsSpan(0, count).CopyTo(b);
        }
        b[count] = item;
        return new ItemLog(b, count + 1);
    }
}
