using Alpine.Prep;

namespace Alpine.Model;

/// <summary>
/// One training or scoring batch (SPEC D12). Targets read windows <c>[Start, End)</c> of positions of one
/// click sequence and one not-click sequence. In <c>Window</c> mode every window starts its sequence (Start = 0):
/// a user's whole-history windows share one prefix sequence, each distinct truncated window has its own; in
/// <c>SharedPrefix</c> mode the targets of one user share one sequence per kind.
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
