using Alpine.Kernels.Device;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>
/// A fan-in as CSR (SPEC D13): the sources 0 .. n−1 grouped by destination row, each group in increasing source
/// order (a stable counting sort), so a kernel thread per (row, column) adds them in a fixed order without atomics.
/// With <c>split</c>, a long group is also cut into pieces of about √(longest group) consecutive sources: one launch
/// sums each piece into a scratch row (a thread per (piece, column)), a second adds a group's pieces in order into
/// its row, so no thread walks a whole group serially (the category fan-in: ~N/C positions per category).
/// </summary>
public sealed class FanIn(bool split = false)
{
    private int[] _start = [];

    public IndexRange Rows { get; private set; }
    public IndexRange Offsets { get; private set; }
    public IndexRange Sources { get; private set; }
    /// <summary>Distinct destination rows (groups).</summary>
    public int Groups { get; private set; }

    /// <summary>Whether the sources are summed in two levels: <see cref="Pieces"/> pieces, then the groups' pieces.</summary>
    public bool Split => Pieces > Groups;
    /// <summary>Pieces (only when split): piece i is Sources[PieceOffsets[i] .. PieceOffsets[i+1]), within one group.</summary>
    public int Pieces { get; private set; }
    public IndexRange PieceOffsets { get; private set; }
    /// <summary>Group g's pieces are GroupPieces[g] .. GroupPieces[g+1] − 1.</summary>
    public IndexRange GroupPieces { get; private set; }
    /// <summary>0 .. Pieces−1: the pieces' scratch rows (first level) and the second level's sources.</summary>
    public IndexRange Identity { get; private set; }

    /// <summary>Groups source i by <paramref name="keys"/>[i] ∈ [0, keyCount) into ranges of <paramref name="up"/>.</summary>
    public void Build(IndexUpload up, ReadOnlySpan<int> keys, int keyCount)
    {
        int n = keys.Length;
        if (_start.Length < keyCount) _start = new int[keyCount];
        Span<int> start = _start.AsSpan(0, keyCount);
        start.Clear();
        int longest = 0;
        foreach (int k in keys) longest = Math.Max(longest, ++start[k]);
        int piece = split ? Math.Max(32, (int)Math.Ceiling(Math.Sqrt(longest))) : int.MaxValue;
        // Reserve for the worst case (every source its own row; only the first Groups rows are read), every range
        // before taking spans (a reservation may move the host buffer).
        int most = Math.Min(n, keyCount), mostPieces = split ? most + n / piece : 0;
        (Rows, Offsets, Sources) = (up.Add(most), up.Add(most + 1), up.Add(n));
        (PieceOffsets, GroupPieces, Identity) = (up.Add(split ? mostPieces + 1 : 0), up.Add(split ? most + 1 : 0), up.Add(mostPieces));
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
        Pieces = groups;
        if (!split) return;

        Span<int> pieceOffsets = up.Host(PieceOffsets), groupPieces = up.Host(GroupPieces), identity = up.Host(Identity);
        int pieces = 0;
        for (int g = 0; g < groups; g++)
        {
            groupPieces[g] = pieces;
            for (int at = offsets[g]; at < offsets[g + 1]; at += piece) pieceOffsets[pieces++] = at;
        }
        groupPieces[groups] = pieces;
        pieceOffsets[pieces] = total;
        for (int i = 0; i < pieces; i++) identity[i] = i;
        Pieces = pieces;
    }

    /// <summary>
    /// dst[Rows[g], block] += Σ src[source, block] over group g's sources, for every group of the latest
    /// <see cref="Build"/> (uploaded): one launch, or when split, the pieces into <paramref name="scratch"/>
    /// (Pieces, Cols; zeroed here) and then each group's pieces in order (two launches and a memset).
    /// </summary>
    public void Add(KernelSet k, IndexUpload up, RowBlock block, ArrayView<float> src, ArrayView<float> dst, DeviceArray<float> scratch)
    {
        if (Groups == 0) return;
        if (!Split)
        {
            k.AddGroupedRows(Groups * block.Cols, block, up.View(Rows), up.View(Offsets), up.View(Sources), src, dst);
            return;
        }
        int cols = block.Cols;
        var sums = scratch.Ensure((long)Pieces * cols);
        sums.MemSetToZero();
        k.AddGroupedRows(Pieces * cols, RowBlock.Copy(cols, block.SrcStride, block.SrcOffset, cols, 0), up.View(Identity),
            up.View(PieceOffsets), up.View(Sources), src, sums);
        k.AddGroupedRows(Groups * cols, RowBlock.Copy(cols, cols, 0, block.DstStride, block.DstOffset), up.View(Rows),
            up.View(GroupPieces), up.View(Identity), sums, dst);
    }
}
