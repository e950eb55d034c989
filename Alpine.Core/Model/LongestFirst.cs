using Alpine.Prep;

namespace Alpine.Model;

/// <summary>
/// The order both backends' graph-LSTM recurrences run a <see cref="SequenceSet"/> in: sequences sorted longest
/// first (ties by index, so the order is a pure function of the lengths) and, per step t, how many are longer
/// than t, so step t covers a prefix of the order. Arrays only grow; the first <see cref="Count"/> and
/// <see cref="Steps"/> entries are this set's.
/// </summary>
public sealed class LongestFirst
{
    private long[] _key = [];

    /// <summary>(Count) sequence ids, longest first.</summary>
    public int[] Order { get; private set; } = [];
    /// <summary>(Steps) how many sorted sequences are longer than t.</summary>
    public int[] Active { get; private set; } = [];
    /// <summary>Sequences in the set.</summary>
    public int Count { get; private set; }
    /// <summary>The longest sequence's length: the number of steps.</summary>
    public int Steps { get; private set; }

    public void Build(SequenceSet seqs)
    {
        int b = Count = seqs.Count;
        if (Order.Length < b) { Order = new int[b]; _key = new long[b]; }
        Span<int> order = Order.AsSpan(0, b);
        Span<long> key = _key.AsSpan(0, b);
        // One distinct key (−length, id) per sequence, so the unstable sort is exact.
        for (int s = 0; s < b; s++) { order[s] = s; key[s] = ((long)-seqs.Length(s) << 32) | (uint)s; }
        key.Sort(order);
        int steps = Steps = b == 0 ? 0 : seqs.Length(order[0]);
        if (Active.Length < steps) Active = new int[steps];
        for (int t = 0, active = b; t < steps; t++)
        {
            while (active > 0 && seqs.Length(order[active - 1]) <= t) active--;
            Active[t] = active;
        }
    }
}
