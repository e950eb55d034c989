using Alpine.Prep;

namespace Alpine.Model;

/// <summary>
/// One sequence branch's index of a <see cref="Batch"/>, built once per batch and read by both backends: the
/// branch's sequences and each target's window [Start, End) of its sequence Seq; each target's first row of the
/// window in the (N, ·) row order and its offset into the windows' α, concatenated; and the targets grouped by
/// sequence in target order (a stable counting sort), the order the attention's backward adds a sequence's
/// overlapping windows in (SPEC D12, D13). Arrays only grow; the first <see cref="Targets"/> (+1) entries are
/// this batch's.
/// </summary>
public sealed class BatchIndex
{
    public SequenceSet Seqs { get; private set; } = SequenceSet.Empty(1);
    public int[] Seq { get; private set; } = [];
    public int[] Start { get; private set; } = [];
    public int[] End { get; private set; } = [];
    /// <summary>B, the targets.</summary>
    public int Targets { get; private set; }
    /// <summary>(B) each target's first window row: Offsets[Seq[t]] + Start[t].</summary>
    public int[] RowStart { get; private set; } = [];
    /// <summary>(B+1) each target's offset into the concatenated α; the last entry is their total.</summary>
    public int[] AlphaOffset { get; private set; } = [];
    /// <summary>(B) targets grouped by sequence, in target order within each: sequence s holds
    /// Order[SeqTargets[s] .. SeqTargets[s+1]).</summary>
    public int[] Order { get; private set; } = [];
    /// <summary>(S+1) where each sequence's targets start in <see cref="Order"/>.</summary>
    public int[] SeqTargets { get; private set; } = [];
    /// <summary>Σ window lengths: the length of α.</summary>
    public int AlphaTotal => AlphaOffset[Targets];
    /// <summary>The longest window.</summary>
    public int MaxWindow { get; private set; }

    /// <summary>The window length of target t.</summary>
    public int Window(int t) => AlphaOffset[t + 1] - AlphaOffset[t];

    /// <summary>Indexes the click (<paramref name="clicks"/>) or the not-click branch of <paramref name="batch"/>.</summary>
    public void Build(Batch batch, bool clicks)
    {
        (Seqs, Seq, Start, End) = clicks
            ? (batch.Clicks, batch.ClickSeq, batch.ClickStart, batch.ClickEnd)
            : (batch.NotClicks, batch.NotClickSeq, batch.NotClickStart, batch.NotClickEnd);
        int b = Targets = batch.TargetCount, count = Seqs.Count;
        if (RowStart.Length < b) (RowStart, Order) = (new int[b], new int[b]);
        if (AlphaOffset.Length < b + 1) AlphaOffset = new int[b + 1];
        if (SeqTargets.Length < count + 1) SeqTargets = new int[count + 1];
        int total = 0, longest = 0;
        for (int t = 0; t < b; t++)
        {
            System.Diagnostics.Debug.Assert(0 <= Start[t] && Start[t] <= End[t] && End[t] <= Seqs.Length(Seq[t]));
            RowStart[t] = Seqs.Offsets[Seq[t]] + Start[t];
            AlphaOffset[t] = total;
            total += End[t] - Start[t];
            longest = Math.Max(longest, End[t] - Start[t]);
        }
        AlphaOffset[b] = total;
        MaxWindow = longest;
        Span<int> counts = SeqTargets.AsSpan(0, count + 1);
        counts.Clear();
        for (int t = 0; t < b; t++) counts[Seq[t] + 1]++;
        for (int s = 0; s < count; s++) counts[s + 1] += counts[s];
        for (int t = 0; t < b; t++) Order[counts[Seq[t]]++] = t;
        // The fill advanced each start to the next sequence's; shift back.
        for (int s = count; s > 0; s--) counts[s] = counts[s - 1];
        counts[0] = 0;
    }
}
