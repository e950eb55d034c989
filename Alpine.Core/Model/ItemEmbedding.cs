using System.Numerics;
using Alpine.Prep;

namespace Alpine.Model;

/// <summary>
/// An item's input x (SPEC "Item embedding x"): kuaishou, the fixed visual vector; thacil,
/// [trainable category embedding ; visual vector]. The one place that fixes the order of the two parts.
/// </summary>
public static class ItemEmbedding
{
    /// <summary>x = the item's row; <paramref name="category"/> is the <c>item.category</c> table <c>(C, Dc)</c>, empty for kuaishou.</summary>
    public static void Gather<T>(Span<T> x, ItemTable items, ReadOnlySpan<T> category, int item) where T : unmanaged, INumberBase<T>
    {
        int dv = items.VisualDim, dc = x.Length - dv;
        System.Diagnostics.Debug.Assert(dc >= 0 && (dc == 0 || items.Category != null));
        if (dc > 0) category.Slice(items.Category![item] * dc, dc).CopyTo(x[..dc]);
        ReadOnlySpan<float> visual = items.Visual.AsSpan(item * dv, dv);
        Span<T> xv = x[dc..];
        if (typeof(T) == typeof(float)) visual.CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(xv));
        else for (int i = 0; i < dv; i++) xv[i] = T.CreateTruncating(visual[i]);
    }

    /// <summary>Adds the category part of dx to the item's category row; the visual part is fixed and has no gradient.</summary>
    public static void ScatterGradient<T>(Span<T> dcategory, ItemTable items, ReadOnlySpan<T> dx, int item) where T : unmanaged, INumberBase<T>
    {
        int dc = dx.Length - items.VisualDim;
        if (dc == 0) return;
        Span<T> row = dcategory.Slice(items.Category![item] * dc, dc);
        for (int i = 0; i < dc; i++) row[i] += dx[i];
    }
}
