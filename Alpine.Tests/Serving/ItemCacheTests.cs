using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Serving;
using Alpine.Tests.Prep;
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
        var (cache, heads) = Cache(data, c, p, cachedItems, precision);
        long perItem = (precision == ItemCachePrecision.Float ? 4L : 2L) * heads.ItemWidth;
        int[] items = [.. Enumerable.Range(0, data.ItemCount).Reverse().Where(i => i % 3 != 1)];
        var lines = new nint[cache.LineRoom(items.Length)];
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

    /// <summary>
    /// <see cref="ItemCache.LineRoom"/> is room enough: whatever the row and feature widths (lines straddled, vector
    /// stores past the last address), nothing is written past it.
    /// </summary>
    [Test]
    public void LinesNeverWritePastTheRoomTheyAskFor()
    {
        foreach (int dim in new[] { 1, 3, 15, 16, 17, 33 })
            foreach (int hidden in new[] { 1, 5, 40 })
                foreach (var precision in new[] { ItemCachePrecision.Float, ItemCachePrecision.BFloat16 })
                {
                    var rng = new Random(dim * 100 + hidden);
                    var (data, c, p) = Model(dim, rng, hidden);
                    var (cache, _) = Cache(data, c, p, cachedItems: 7, precision);
                    for (int count = 0; count <= 9; count++)
                    {
                        int[] items = [.. Enumerable.Range(0, count).Select(_ => rng.Next(data.ItemCount))];
                        int room = cache.LineRoom(count);
                        var lines = Enumerable.Repeat((nint)(-1), room + 64).ToArray();
                        int n = cache.Lines(items, lines);
                        Assert.That(n, Is.LessThanOrEqualTo(room));
                        Assert.That(lines.Skip(room), Is.All.EqualTo((nint)(-1)), $"D {dim}, M {hidden}, {precision}, {count} items: written past the room");
                    }
                }
    }

    /// <summary>
    /// GatherTransposed: each item's x into column i of xT (D, n) — sixteen items at a time transposed in registers
    /// where x is the visual row, the rest one by one — and, for items past the cache, x into its row of x.
    /// </summary>
    [TestCase(37, 0, false), TestCase(37, 11, false), TestCase(5, 0, false), TestCase(37, 11, true)]
    public void GatherTransposedPutsEveryItemsXInItsColumn(int n, int cachedItems, bool thacil)
    {
        // 32-d visual features (kuaishou: x is the visual row, two blocks of sixteen); thacil: x is [category, visual].
        var rng = new Random(n);
        var (data, c, p) = Model(32, rng, thacil: thacil);
        var (cache, heads) = Cache(data, c, p, cachedItems, ItemCachePrecision.Float);
        int[] items = [.. Enumerable.Range(0, n).Select(_ => rng.Next(data.ItemCount))];
        int d = heads.D;
        var xT = new float[d * n];
        var x = new float[n * d];
        var parts = new float[n * heads.ItemWidth];
        cache.GatherTransposed(items, xT, parts, x);
        var xi = new float[d];
        for (int i = 0; i < n; i++)
        {
            cache.Embed(items[i], xi);
            Assert.That(Enumerable.Range(0, d).Select(k => xT[k * n + i]), Is.EqualTo(xi).AsCollection, $"column {i} (item {items[i]})");
            if (items[i] >= cache.Count) Assert.That(x.AsSpan(i * d, d).ToArray(), Is.EqualTo(xi).AsCollection, $"row {i}: past the cache");
        }
    }

    /// <summary>Tiny data with <paramref name="dim"/>-d random visual features (thacil: with categories) and a model's parameters.</summary>
    private static (PreparedData Data, ModelConfig Config, float[] P) Model(int dim, Random rng, int? mlpHidden = null, bool thacil = false)
    {
        var features = Enumerable.Range(0, 40 * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var c = TinyData.Config(profile: thacil ? Profile.Thacil : Profile.Kuaishou);
        return ServedModels.Tiny(config: c with { VisualDim = dim, MlpHidden = mlpHidden ?? c.MlpHidden }, thacil: thacil, features: features);
    }

    /// <summary>The model's item cache with its first <paramref name="cachedItems"/> items cached (0: every item).</summary>
    private static (ItemCache Cache, HeadParts Heads) Cache(PreparedData data, ModelConfig c, float[] p, int cachedItems, ItemCachePrecision precision)
    {
        var layout = ModelLayout.ForBackend(c, data.Items, data.UserCount, p);
        float[] category = layout.Category is { } cat ? cat.Of(p).ToArray() : [];
        var heads = new HeadParts(c, layout, p, threads: 1);
        long perItem = ItemCache.BytesPerItem(precision, heads.ItemWidth);
        return (new ItemCache(heads, data.Items, category, cachedItems == 0 ? long.MaxValue : cachedItems * perItem, precision), heads);
    }
}
