namespace Alpine.Prep;

/// <summary>
/// Item sequences that the LSTM encodes once each, concatenated. Position p of sequence s is
/// <c>Items[Offsets[s] + p]</c>; its graph predecessors t* (SPEC D4) are
/// <c>GraphPred[(Offsets[s] + p) * L + l]</c>, positions within the same sequence, -1 where absent
/// (position 0, and padding when fewer than L earlier candidates exist).
/// </summary>
public sealed class SequenceSet
{
    public SequenceSet(int[] offsets, int[] items, int[] graphPred, int topL)
    {
        System.Diagnostics.Debug.Assert(offsets.Length >= 1 && offsets[^1] == items.Length);
        System.Diagnostics.Debug.Assert(graphPred.Length == items.Length * topL);
        Offsets = offsets; Items = items; GraphPred = graphPred; TopL = topL;
    }

    public int Count => Offsets.Length - 1;
    public int[] Offsets { get; }
    public int[] Items { get; }
    public int[] GraphPred { get; }
    public int TopL { get; }
    public int Length(int s) => Offsets[s + 1] - Offsets[s];
    public int TotalSteps => Items.Length;

    public static SequenceSet Empty(int topL) => new([0], [], [], topL);
}
