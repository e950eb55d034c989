namespace Alpine.Serving;

/// <summary>
/// The cached states of one branch (click or not-click sequence) of one user: positions
/// [Total − Count, Total) of the sequence, oldest first, row r of <see cref="H"/> and <see cref="C"/> being
/// position Total − Count + r. A target reads the last min(W, Count) rows (SPEC D2, D12); Count ≥ min(W, Total).
/// <para>
/// Snapshots are immutable to their readers: a later snapshot may share the buffers but only writes rows at or
/// past this one's Count (or copies into new buffers), so a reader holding this snapshot never sees a torn row.
/// </para>
/// </summary>
internal sealed class BranchState(float[] h, float[] c, int[] items, float[] cStarLast, int count, long total)
{
    /// <summary>(Capacity, H) hidden states.</summary>
    public float[] H { get; } = h;
    /// <summary>(Capacity, H) sequential-path cells, read as c_{t*} (Neighbor) and c_{t−1}.</summary>
    public float[] C { get; } = c;
    /// <summary>(Capacity) the item of each position, for the next step's t* search.</summary>
    public int[] Items { get; } = items;
    /// <summary>(H) c*_{Total−1}, what the Carried reading (SPEC D5) needs; empty otherwise.</summary>
    public float[] CStarLast { get; } = cStarLast;
    public int Count { get; } = count;
    /// <summary>The sequence's length: every position ever encoded, kept or not.</summary>
    public long Total { get; } = total;
    public int Capacity => Items.Length;

    /// <summary>The rows a target attends over: the ≤ <paramref name="window"/> most recent.</summary>
    public ReadOnlySpan<float> Window(int window, int hidden, out int rows)
    {
        rows = Math.Min(window, Count);
        return H.AsSpan((Count - rows) * hidden, rows * hidden);
    }

    /// <summary>Bytes the snapshot's buffers hold (what a user's state costs in memory).</summary>
    public long Bytes => 4L * (H.Length + C.Length + Items.Length + CStarLast.Length);
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
