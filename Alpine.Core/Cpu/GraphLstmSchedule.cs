using System.Numerics;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Cpu;

/// <summary>
/// The step order of a <see cref="SequenceSet"/> that lets the recurrence run as GEMMs over many sequences
/// at once (SPEC "Fusion"): sequences sorted by length (longest first, ties by index), then stored
/// time-major, so the rows of step t of the sorted sequences <c>j0..j1</c> are one contiguous block
/// <c>BlockStart[t] + j0 ..</c>, and the rows of step t−1 of the same sequences sit at the same offsets in
/// block t−1 (PyTorch's PackedSequence layout). "Row" below means a row of this packed order; the caller's
/// order (<c>Offsets[s] + t</c>) is the "source row".
/// </summary>
internal sealed class GraphLstmSchedule<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Longest sequence length; the number of time blocks.</summary>
    public int Steps { get; private set; }
    /// <summary>N, all rows.</summary>
    public int Rows { get; private set; }
    /// <summary>(Steps+1) first row of each time block.</summary>
    public int[] BlockStart = [0];
    /// <summary>(Steps) how many sorted sequences are longer than t: block t's row count.</summary>
    public int[] Active = [];
    /// <summary>(N) packed row → source row.</summary>
    public int[] Source = [];
    /// <summary>(N, L) packed rows of the graph predecessors t* of each row, -1 where absent.</summary>
    public int[] Pred = [];
    /// <summary>(N) 1 / (number of valid predecessors), 0 when there are none: h* and c* are their means.</summary>
    public T[] PredScale = [];
    /// <summary>(chunks+1) sorted-sequence bounds of the fixed chunks run in parallel (SPEC D13).</summary>
    public int[] ChunkStart = [0];
    /// <summary>How many chunks <see cref="ChunkStart"/> bounds (the array may be longer: grow-only).</summary>
    public int Chunks;

    private int[] _order = [];
    private int[] _length = [];

    /// <summary>Rebuilds the schedule for <paramref name="seqs"/>, growing arrays only when it is larger.</summary>
    public void Build(SequenceSet seqs, int chunks)
    {
        int b = seqs.Count, n = seqs.TotalSteps, topL = seqs.TopL;
        Buffers.Grow(ref _order, b);
        Buffers.Grow(ref _length, b);
        for (int s = 0; s < b; s++) { _order[s] = s; _length[s] = seqs.Length(s); }
        // Longest first; the index breaks ties so the order is a pure function of the lengths.
        var lengths = _length;
        Array.Sort(_order, 0, b, Comparer<int>.Create((p, q) => lengths[p] != lengths[q] ? lengths[q].CompareTo(lengths[p]) : p.CompareTo(q)));

        Steps = b == 0 ? 0 : _length[_order[0]];
        Rows = n;
        Buffers.Grow(ref Active, Steps);
        Buffers.Grow(ref BlockStart, Steps + 1);
        BlockStart[0] = 0;
        int active = b;
        for (int t = 0; t < Steps; t++)
        {
            while (active > 0 && _length[_order[active - 1]] <= t) active--;
            Active[t] = active;
            BlockStart[t + 1] = BlockStart[t] + active;
        }

        Buffers.Grow(ref Source, n);
        Buffers.Grow(ref Pred, n * topL);
        Buffers.Grow(ref PredScale, n);
        for (int j = 0; j < b; j++)
        {
            int s = _order[j], off = seqs.Offsets[s];
            for (int t = 0; t < _length[s]; t++)
            {
                int row = BlockStart[t] + j, src = off + t, valid = 0;
                Source[row] = src;
                for (int l = 0; l < topL; l++)
                {
                    int k = seqs.GraphPred[src * topL + l];
                    if (k >= t) throw new ArgumentException($"sequence {s} position {t}: graph predecessor {k} is not an earlier position");
                    Pred[row * topL + l] = k < 0 ? -1 : BlockStart[k] + j;
                    if (k >= 0) valid++;
                }
                PredScale[row] = valid == 0 ? T.Zero : T.One / T.CreateTruncating(valid);
            }
        }

        // Fixed chunks of about equal step counts: contiguous in sorted order so each chunk's rows at a
        // step stay one block. The bounds depend on the lengths only, never on thread timing.
        Buffers.Grow(ref ChunkStart, chunks + 1);
        Chunks = chunks;
        ChunkStart[0] = 0;
        int c = 1;
        long sum = 0;
        for (int j = 0; j < b && c < chunks; j++)
        {
            sum += _length[_order[j]];
            if (sum * chunks >= (long)n * c) ChunkStart[c++] = j + 1;
        }
        while (c <= chunks) ChunkStart[c++] = b;
    }

}
