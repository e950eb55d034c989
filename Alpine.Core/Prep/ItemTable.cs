namespace Alpine.Prep;

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
