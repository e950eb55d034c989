namespace Alpine.Model;

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

/// <summary>
/// One training or scoring batch (SPEC D12). Targets read windows <c>[Start, End)</c> of positions of one
/// click sequence and one not-click sequence. In <c>Window</c> mode each target owns its sequences
/// (Start = 0, End = length); in <c>SharedPrefix</c> mode the targets of one user share them.
/// An empty window (Start == End) gives f = 0 (SPEC D7).
/// </summary>
public sealed class Batch
{
    public required SequenceSet Clicks { get; init; }
    public required SequenceSet NotClicks { get; init; }
    public int TargetCount => TargetItem.Length;
    public required int[] TargetUser { get; init; }
    public required int[] TargetItem { get; init; }
    /// <summary>1 for a click, 0 otherwise; empty when scoring unlabelled targets.</summary>
    public required float[] Label { get; init; }
    public required int[] ClickSeq { get; init; }
    public required int[] ClickStart { get; init; }
    public required int[] ClickEnd { get; init; }
    public required int[] NotClickSeq { get; init; }
    public required int[] NotClickStart { get; init; }
    public required int[] NotClickEnd { get; init; }
}

/// <summary>
/// The fixed item inputs: the PCA visual vectors <c>[items, VisualDim]</c> and, for the thacil profile,
/// each item's category id (its embedding is a trained parameter).
/// </summary>
public sealed class ItemTable(float[] visual, int visualDim, int[]? category, int categoryCount)
{
    public float[] Visual { get; } = visual;
    public int VisualDim { get; } = visualDim;
    public int[]? Category { get; } = category;
    public int CategoryCount { get; } = categoryCount;
    public int Count => Visual.Length / VisualDim;
}

/// <summary>
/// Per user, the items liked and followed in the train part (SPEC D2, D9), as CSR lists:
/// user u's liked items are <c>LikedItems[LikedOffsets[u]..LikedOffsets[u+1]]</c>.
/// Used once, to initialise the user matrix.
/// </summary>
public sealed record LikeFollowLists(int[] LikedOffsets, int[] LikedItems, int[] FollowedOffsets, int[] FollowedItems)
{
    public int UserCount => LikedOffsets.Length - 1;
}
