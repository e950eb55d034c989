using Alpine.Model;
using Alpine.Serving;
using Alpine.Tests.Train;

namespace Alpine.Tests.Serving;

/// <summary>The cache lines <see cref="ItemCache.Lines"/> hands the GEMM's prefetch stream.</summary>
[TestFixture]
public class ItemCacheTests
{
    [TestCase(ItemCachePrecision.Float, 0)]
    [TestCase(ItemCachePrecision.Float, 7)]       // items past the first 7 have no cached row: their features only
    [TestCase(ItemCachePrecision.BFloat16, 0)]
    public unsafe void LinesCoverEveryCachedRowAndFeatureRowOfTheItemsAndNothingElse(ItemCachePrecision precision, int cachedItems)
    {
        var (data, c, p) = ServedModels.Tiny(config: TinyData.Config() with { MlpHidden = 40 });
        var layout = ModelLayout.ForBackend(c, data.Items, data.UserCount, p);
        float[] category = layout.Category is { } cat ? cat.Of(p).ToArray() : [];
        var heads = new HeadParts(c, layout, p, threads: 1);
        long perItem = (precision == ItemCachePrecision.Float ? 4L : 2L) * heads.ItemWidth;
        var cache = new ItemCache(heads, data.Items, category, cachedItems == 0 ? long.MaxValue : cachedItems * perItem, precision);
        int[] items = [.. Enumerable.Range(0, data.ItemCount).Reverse().Where(i => i % 3 != 1)];
        var lines = new nint[items.Length * cache.LinesPerItem];
        int n = cache.Lines(items, lines);

        var expected = new List<nint>();
        void Range(nint start, long bytes)
        {
            for (nint line = start & ~(nint)63; line < start + bytes; line += 64) expected.Add(line);
        }
        fixed (float* visual = data.Items.Visual)
        {
            foreach (int item in items.Where(i => i < cache.Count))
                if (precision == ItemCachePrecision.Float) fixed (float* row = cache.Row(item)) Range((nint)row, perItem);
                else fixed (ushort* row = cache.RowBFloat16(item)) Range((nint)row, perItem);
            foreach (int item in items) Range((nint)(visual + (long)item * data.Items.VisualDim), 4L * data.Items.VisualDim);
        }
        Assert.That(lines.Take(n), Is.EqualTo(expected), "each cached row's lines, then each item's feature lines, in the items' order");
        Assert.That(cache.Count, Is.EqualTo(cachedItems == 0 ? data.ItemCount : cachedItems));
        Assert.Throws<ArgumentException>(() => cache.Lines(items, new nint[lines.Length - 1]));
    }
}
