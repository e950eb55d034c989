namespace Alpine.Kernels;

/// <summary>
/// A fan-in as CSR (SPEC D13): the sources 0 .. n−1 grouped by destination row, each group in increasing source
/// order (a stable counting sort), so a kernel thread per (row, column) adds them in the CPU's order without atomics.
/// </summary>
public sealed class FanIn
{
    private int[] _start = [];

    public IndexRange Rows { get; private set; }
    public IndexRange Offsets { get; private set; }
    public IndexRange Sources { get; private set; }
    /// <summary>Distinct destination rows (groups).</summary>
    public int Groups { get; private set; }

    /// <summary>Groups source i by <paramref name="keys"/>[i] ∈ [0, keyCount) into three ranges of <paramref name="up"/>.</summary>
    public void Build(IndexUpload up, ReadOnlySpan<int> keys, int keyCount)
    {
        int n = keys.Length;
        if (_start.Length < keyCount) _start = new int[keyCount];
        Span<int> start = _start.AsSpan(0, keyCount);
        start.Clear();
        foreach (int k in keys) start[k]++;
        // Reserve for the worst case (every source its own row; only the first Groups rows are read), all three
        // ranges before taking spans (a reservation may move the host buffer).
        int most = Math.Min(n, keyCount);
        (Rows, Offsets, Sources) = (up.Add(most), up.Add(most + 1), up.Add(n));
        Span<int> rows = up.Host(Rows), offsets = up.Host(Offsets), sources = up.Host(Sources);
        int groups = 0, total = 0;
        for (int k = 0; k < keyCount; k++)
        {
            int count = start[k];
            if (count == 0) continue;
            rows[groups] = k;
            offsets[groups++] = total;
            start[k] = total;
            total += count;
        }
        offsets[groups] = total;
        Groups = groups;
        for (int i = 0; i < n; i++) sources[start[keys[i]]++] = i;
    }
}
