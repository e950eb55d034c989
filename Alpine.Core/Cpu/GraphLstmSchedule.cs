using System.Numerics;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Cpu;

/// <summary>
/// The step order of a <see cref="SequenceSet"/> that lets the recurrence run as GEMMs over many sequences
/// at once (SPEC "Fusion"): sequences in <see cref="LongestFirst"/> order, cut into fixed groups
/// of <see cref="GroupSize"/> consecutive sorted sequences; each group's rows are one contiguous range
/// (so its input projection is one GEMM), stored time-major inside it: the rows of step t of the group's
/// sequences are one block <c>Row(g, t) + (j − first sequence of g)</c>, and the rows of step t−1 of the
/// same sequences sit at the same offsets in block t−1 (PyTorch's PackedSequence layout, per group).
/// "Row" below means a row of this packed order; the caller's order (<c>Offsets[s] + t</c>) is the "source row".
/// </summary>
internal sealed class GraphLstmSchedule<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Longest sequence length: the number of steps.</summary>
    public int Steps { get; private set; }
    /// <summary>N, all rows.</summary>
    public int Rows { get; private set; }
    /// <summary>(Steps) how many sorted sequences are longer than t.</summary>
    public int[] Active => _longest.Active;
    /// <summary>Sorted sequences per group (the last group may have fewer).</summary>
    public int GroupSize { get; private set; } = 1;
    /// <summary>Number of groups.</summary>
    public int Groups { get; private set; }
    /// <summary>(Groups+1) first row of each group: a group's rows are [GroupRow[g], GroupRow[g+1]).</summary>
    public int[] GroupRow = [0];
    /// <summary>(Groups, Steps+1) first row of step t of group g, see <see cref="Row"/>.</summary>
    private int[] _stepRow = [];
    /// <summary>(N) packed row → source row.</summary>
    public int[] Source = [];
    /// <summary>(N, L) packed rows of the graph predecessors t* of each row, -1 where absent.</summary>
    public int[] Pred = [];
    /// <summary>(N) 1 / (number of valid predecessors), 0 when there are none: h* and c* are their means.</summary>
    public T[] PredScale = [];
    /// <summary>
    /// (Chunks+1) with several groups: group bounds of the fixed chunks run in parallel, whole groups each
    /// (SPEC D13).
    /// </summary>
    public int[] ChunkGroup = [0];
    /// <summary>(Chunks+1) with one group: sorted-sequence bounds of the fixed chunks its recurrence runs in.</summary>
    public int[] ChunkStart = [0];
    /// <summary>How many chunks the bounds hold (the arrays may be longer: grow-only).</summary>
    public int Chunks { get; private set; }
    /// <summary>The number of sorted sequences the layer was built with.</summary>
    public int Sequences { get; private set; }

    /// <summary>The first sorted sequence of group g (g ≤ Groups).</summary>
    public int FirstSequence(int g) => Math.Min(Sequences, g * GroupSize);

    /// <summary>First row of step t (0 ≤ t ≤ Steps) of group g; the group's sequence j sits at + (j − g·GroupSize).</summary>
    public int Row(int g, int t) => _stepRow[g * (Steps + 1) + t];

    private readonly LongestFirst _longest = new();

    /// <summary>Rebuilds the schedule for <paramref name="seqs"/>, growing arrays only when it is larger.</summary>
    public void Build(SequenceSet seqs, int chunks, int groupSize)
    {
        int b = seqs.Count, n = seqs.TotalSteps, topL = seqs.TopL;
        _longest.Build(seqs);
        int[] order = _longest.Order;
        Steps = _longest.Steps;
        Rows = n;
        Sequences = b;

        // Groups of GroupSize sorted sequences, each a contiguous row range, time-major inside.
        GroupSize = groupSize;
        Groups = (b + groupSize - 1) / groupSize;
        Buffers.Grow(ref GroupRow, Groups + 1);
        Buffers.Grow(ref _stepRow, Groups * (Steps + 1));
        int row0 = 0;
        for (int g = 0; g < Groups; g++)
        {
            int j0 = g * groupSize, j1 = Math.Min(b, j0 + groupSize);
            GroupRow[g] = row0;
            for (int t = 0; t <= Steps; t++)
            {
                _stepRow[g * (Steps + 1) + t] = row0;
                if (t < Steps) row0 += Math.Max(0, Math.Min(j1, Active[t]) - j0);
            }
        }
        GroupRow[Groups] = row0;
        if (row0 != n) throw new InvalidOperationException($"graph-LSTM schedule: {row0} rows laid out, the set has {n}");

        Buffers.Grow(ref Source, n);
        Buffers.Grow(ref Pred, n * topL);
        Buffers.Grow(ref PredScale, n);
        for (int j = 0; j < b; j++)
        {
            int s = order[j], off = seqs.Offsets[s], g = j / groupSize, at = j - g * groupSize;
            for (int t = 0; t < seqs.Length(s); t++)
            {
                int row = Row(g, t) + at, src = off + t, valid = 0;
                Source[row] = src;
                for (int l = 0; l < topL; l++)
                {
                    int k = seqs.GraphPred[src * topL + l];
                    if (k >= t) throw new ArgumentException($"sequence {s} position {t}: graph predecessor {k} is not an earlier position");
                    Pred[row * topL + l] = k < 0 ? -1 : Row(g, k) + at;
                    if (k >= 0) valid++;
                }
                PredScale[row] = valid == 0 ? T.Zero : T.One / T.CreateTruncating(valid);
            }
        }

        // Fixed chunks of about equal row counts: whole groups, or with one group, contiguous sorted sequences
        // (so each chunk's rows at a step stay one block). The bounds depend on the lengths and the chunk count
        // only, never on thread timing; the groups (and so every sum) not even on the chunk count.
        Chunks = chunks;
        int c = 1;
        if (Groups > 1)
        {
            Buffers.Grow(ref ChunkGroup, chunks + 1);
            ChunkGroup[0] = 0;
            for (int g = 0; g < Groups && c < chunks; g++)
                if ((long)GroupRow[g + 1] * chunks >= (long)n * c) ChunkGroup[c++] = g + 1;
            while (c <= chunks) ChunkGroup[c++] = Groups;
            return;
        }
        Buffers.Grow(ref ChunkStart, chunks + 1);
        ChunkStart[0] = 0;
        long sum = 0;
        for (int j = 0; j < b && c < chunks; j++)
        {
            sum += seqs.Length(order[j]);
            if (sum * chunks >= (long)n * c) ChunkStart[c++] = j + 1;
        }
        while (c <= chunks) ChunkStart[c++] = b;
    }
}
