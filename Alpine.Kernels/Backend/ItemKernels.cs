using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>Widths of an item's input x = [category embedding (Dc) ; visual (Dv)]; Dc = 0 for kuaishou.</summary>
public struct ItemDims
{
    public int Dc, Dv;
    public readonly int D => Dc + Dv;
}

/// <summary>The device twin of <see cref="Alpine.Model.ItemEmbedding"/>: the x gather (SPEC "Item embedding x").</summary>
public static class ItemKernels
{
    /// <summary>
    /// Effectively computes x[r, :] = [category[itemCategory[ids[r]], :] ; visual[ids[r], :]], one thread per
    /// element of x (R, D). For kuaishou (Dc = 0) the two category views are never read.
    /// </summary>
    public static void Gather(Index1D e, ItemDims d, ArrayView<int> ids, ArrayView<int> itemCategory,
        ArrayView<float> category, ArrayView<float> visual, ArrayView<float> x)
    {
        int width = d.Dc + d.Dv;
        int r = e / width, k = e % width;
        int item = ids[r];
        x[e] = k < d.Dc ? category[(long)itemCategory[item] * d.Dc + k] : visual[(long)item * d.Dv + (k - d.Dc)];
    }
}
