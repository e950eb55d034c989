using Alpine.Model;
using Alpine.Serving;
using Alpine.Tests.Train;

namespace Alpine.Tests.Serving;

/// <summary>
/// The factored serving paths (<c>Router</c> for route, <c>CandidateScorer</c> for score and recommend, the item
/// cache) against the unfactored layer (<c>Scorer</c>, the training code's layer functions): only sum orders differ,
/// so probabilities agree within <see cref="Bound"/>, for every user, every variant, W1_f f from P = Hw W1_fᵀ and
/// from f first (windows on both sides of <c>CandidateScorer.Pools</c>), the item cache full, partial and off, and
/// after observes.
/// </summary>
[TestFixture]
public class FactoredScoringTests
{
    /// <summary>|p − p_unfactored| allowed: float rounding of sums of ≤ a few hundred terms through σ.</summary>
    public const float Bound = 1e-6f;

    private static IEnumerable<TestCaseData> Cases()
    {
        const ItemCachePrecision F = ItemCachePrecision.Float, B = ItemCachePrecision.BFloat16;
        foreach (var (cache, precision) in new[] { (long.MaxValue, F), (0L, F), (4L * 3 * 5 * 17, F), (long.MaxValue, B), ((2L * 3 * 5 + 4) * 17, B) })
        {
            // All items cached, none, the first 17 (float or bfloat16).
            string name = $"{cache} {precision}";
            yield return new TestCaseData(TinyData.Config(), cache, precision).SetArgDisplayNames("alpine", name);
            yield return new TestCaseData(TinyData.Config(window: 4), cache, precision).SetArgDisplayNames("W4", name);
            yield return new TestCaseData(TinyData.Config() with { MlpHidden = LongM }, cache, precision).SetArgDisplayNames("M 12 > H 6", name);
        }
        yield return new TestCaseData(TinyData.Config(Variant.UMG), long.MaxValue, F).SetArgDisplayNames("umg", "all");
        yield return new TestCaseData(TinyData.Config(Variant.U) with { CStar = CStarReading.Carried, TopL = 1 }, long.MaxValue, F).SetArgDisplayNames("U", "all");
        yield return new TestCaseData(TinyData.Config() with { Attention = AttentionKind.ScaledDot, Hidden = TinyData.FeatureDim }, 0L, F)
            .SetArgDisplayNames("scaled dot", "none");
        yield return new TestCaseData(TinyData.Config() with { Hidden = 40 }, long.MaxValue, F).SetArgDisplayNames("H 40", "all");
    }

    /// <summary>M of the case whose longer windows (n ≥ H·M / (M − H) = 12 at H = 6) compute f first.</summary>
    private const int LongM = 12;

    [Test]
    public void WindowsPoolWhereThatCostsFewerFmas()
    {
        Assert.That(CandidateScorer.Pools(63, 64, 128), Is.True, "n·M = 8,064 against n·H + H·M = 12,224");
        Assert.That(CandidateScorer.Pools(128, 64, 128), Is.True, "equal: 16,384 each");
        Assert.That(CandidateScorer.Pools(129, 64, 128), Is.False, "16,512 against 16,448");
        Assert.That(CandidateScorer.Pools(300, 64, 64), Is.True, "M ≤ H: pooling is never the dearer");
        // The M 12 case of ScoreAndRouteEqualTheUnfactoredLayerWithinTheBound has windows on both sides.
        var (data, c, p) = ServedModels.Tiny(config: TinyData.Config() with { MlpHidden = LongM });
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        var rows = Enumerable.Range(0, data.UserCount).SelectMany(u => new[] { served.StateOf(u).Click, served.StateOf(u).NotClick! })
            .Select(b => Math.Min(c.Window, b.Count)).Where(n => n > 0).ToList();
        Assert.That(rows, Has.Some.Matches<int>(n => CandidateScorer.Pools(n, c.HiddenSize, LongM)));
        Assert.That(rows, Has.Some.Matches<int>(n => !CandidateScorer.Pools(n, c.HiddenSize, LongM)));
    }

    [TestCaseSource(nameof(Cases))]
    public void ScoreAndRouteEqualTheUnfactoredLayerWithinTheBound(ModelConfig config, long cacheBytes, ItemCachePrecision precision)
    {
        var (data, c, p) = ServedModels.Tiny(config: config);
        using var served = AlpineModel.Create(data, c, p, threads: 1, itemCacheBytes: cacheBytes, precision: precision);
        if (cacheBytes != long.MaxValue) Assert.That(served.CachedItems, cacheBytes == 0 ? Is.Zero : Is.InRange(1, data.ItemCount - 1), "none, or a part");
        var rng = new Random(2);
        long clock = ServedModels.After(data);
        for (int i = 0; i < 30; i++) served.Observe(ServedModels.Next(served, rng.Next(data.UserCount), rng, ref clock));
        int[] items = [.. Enumerable.Range(0, data.ItemCount)];
        int[] users = [.. Enumerable.Range(0, data.UserCount)];
        for (int u = 0; u < data.UserCount; u++)
            Assert.That(served.Score(u, items), Is.EqualTo(served.ScoreUnfactored(u, items)).Within(Bound), $"user {u}");
        foreach (int item in new[] { 0, 16, 17, 39 })
        {
            var expected = served.RouteUnfactored(item, users);
            var routed = served.Route(item, null, users.Length).ToDictionary(r => r.User, r => r.Probability);
            Assert.That(users.Select(u => routed[u]), Is.EqualTo(expected).Within(Bound), $"item {item}");
        }
    }

    [Test]
    public void ThacilScoresAndRoutesEqualTheUnfactoredLayer()
    {
        var (data, c, p) = ServedModels.Tiny(thacil: true);
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        int[] items = [.. Enumerable.Range(0, data.ItemCount)];
        Assert.That(served.Score(2, items), Is.EqualTo(served.ScoreUnfactored(2, items)).Within(Bound));
        var routed = served.Route(9, null, data.UserCount).OrderBy(r => r.User).Select(r => r.Probability);
        Assert.That(routed, Is.EqualTo(served.RouteUnfactored(9, [.. Enumerable.Range(0, data.UserCount)])).Within(Bound));
    }

    [Test]
    public void ManyBlocksOfUsersAndCandidatesOnEveryThreadEqualTheUnfactoredLayer()
    {
        // 300 users and 700 items: route's blocks of 256 users and the candidates' blocks of 192, split over threads.
        var data = TinyData.Prepare(TinyData.Log(4, 300, 20, items: 700), TinyData.Features(4, 700));
        var config = TinyData.Config(window: 8);
        var p = ParameterInit.Create(config, ModelLayout.Create(config, data.UserCount, data.CategoryCount), data.Items, data.LikesFollows, 3);
        using var served = AlpineModel.Create(data, config, p, threads: 0, itemCacheBytes: 4L * 3 * 5 * 500, precision: ItemCachePrecision.Float);
        Assert.That(served.CachedItems, Is.EqualTo(500));
        int[] items = [.. Enumerable.Range(0, data.ItemCount)];
        Assert.That(served.Score(7, items), Is.EqualTo(served.ScoreUnfactored(7, items)).Within(Bound));
        var routed = served.Route(650, null, data.UserCount).OrderBy(r => r.User).Select(r => r.Probability);
        Assert.That(routed, Is.EqualTo(served.RouteUnfactored(650, [.. Enumerable.Range(0, data.UserCount)])).Within(Bound));
        Assert.That(served.Route(650, [299, 5], 2).Select(r => r.Probability),
            Is.EquivalentTo(new[] { 299, 5 }.Select(u => served.Route(650, null, data.UserCount).Single(r => r.User == u).Probability)),
            "a user's route probability does not depend on the other users in the call");
        // Reversed, every item sits at another place in its block of 192 and in another block (the softmax and the
        // sigmoid run sixteen candidates a vector with a padded tail, the GEMMs by column tiles): the same bits.
        var forward = served.Score(7, items);
        var backward = served.Score(7, [.. items.Reverse()]);
        Assert.That(backward.Reverse(), Is.EqualTo(forward).AsCollection, "an item's score does not depend on its place among the candidates");
        Assert.That(served.Score(7, [699, 3]), Is.EqualTo(new[] { forward[699], forward[3] }).AsCollection);
    }
}

/// <summary>The bfloat16 item cache (<see cref="ItemCachePrecision.BFloat16"/>): rounding, and scores within its bound.</summary>
[TestFixture]
public class BFloat16ItemCacheTests
{
    [Test]
    public void PartsRoundToTheNearestBFloat16TiesToEven()
    {
        Assert.That(ItemCache.ToBFloat16(1f), Is.EqualTo((ushort)0x3F80));
        Assert.That(ItemCache.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo((ushort)0x3F80), "a tie goes to the even 0x3F80");
        Assert.That(ItemCache.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo((ushort)0x3F82), "a tie goes to the even 0x3F82");
        Assert.That(ItemCache.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808001)), Is.EqualTo((ushort)0x3F81), "past the tie: up");
        Assert.That(ItemCache.ToBFloat16(BitConverter.UInt32BitsToSingle(0xBF807FFF)), Is.EqualTo((ushort)0xBF80), "below the tie: down, sign kept");
        Assert.That(ItemCache.ToBFloat16(float.MaxValue), Is.EqualTo((ushort)0x7F80), "past the largest bfloat16: infinity");
        Assert.That(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)ItemCache.ToBFloat16(float.NaN) << 16)), Is.True);
        var rng = new Random(3);
        for (int i = 0; i < 10_000; i++)
        {
            float v = (float)(rng.NextDouble() * 20 - 10);
            float r = BitConverter.UInt32BitsToSingle((uint)ItemCache.ToBFloat16(v) << 16);
            Assert.That(MathF.Abs(r - v), Is.LessThanOrEqualTo(MathF.Abs(v) / 256), $"{v}: within 2^-8 of itself (half a unit in the 8th significant bit)");
        }
    }

    [TestCase(5, 0)]
    [TestCase(5, 17)]    // the first 17 items cached, the rest computed per request
    [TestCase(40, 0)]    // M = 40: sixteen parts a vector and a scalar tail
    public void ScoresRoutesAndRecommendsAreTheFloatCachesBitForBit(int mlpHidden, int cachedItems)
    {
        var (data, c, p) = ServedModels.Tiny(config: TinyData.Config() with { MlpHidden = mlpHidden });
        long cacheBytes = cachedItems == 0 ? long.MaxValue : (2L * 3 * mlpHidden + 4) * cachedItems;
        using var exact = AlpineModel.Create(data, c, p, threads: 1, itemCacheBytes: cachedItems == 0 ? long.MaxValue : 4L * 3 * mlpHidden * cachedItems,
            precision: ItemCachePrecision.Float);
        using var half = AlpineModel.Create(data, c, p, threads: 1, itemCacheBytes: cacheBytes, precision: ItemCachePrecision.BFloat16);
        Assert.That(half.CachedItems, Is.EqualTo(cachedItems == 0 ? data.ItemCount : cachedItems));
        Assert.That(exact.CachedItems, Is.EqualTo(half.CachedItems));
        Assert.That(half.ItemCacheBytes, Is.EqualTo((2L * 3 * mlpHidden + 4) * half.CachedItems), "two bytes a part and four of bound an item");
        int[] items = [.. Enumerable.Range(0, data.ItemCount)];
        for (int u = 0; u < data.UserCount; u++)
        {
            Assert.That(half.Score(u, items), Is.EqualTo(exact.Score(u, items)).AsCollection, $"user {u}: scored from float parts");
            Assert.That(half.Recommend(u, items, 5), Is.EqualTo(exact.Recommend(u, items, 5)).AsCollection, $"user {u}");
        }
        Assert.That(half.Route(3, null, data.UserCount), Is.EqualTo(exact.Route(3, null, data.UserCount)).AsCollection);
    }

    /// <summary>
    /// 3,000 items (past <see cref="AlpineModel.ShortlistFrom"/>), some of them with the same features (ties in p):
    /// recommend ranks with the bfloat16 rows, rescores a shortlist from float parts and returns what the float
    /// cache returns, ties in candidate order included; the bounds hold every float p, and the shortlist is a small
    /// part of the candidates.
    /// </summary>
    [Test]
    public void RecommendRanksWithTheBFloat16RowsAndReturnsTheFloatCachesBest()
    {
        const int Items = 3000;
        var features = TinyData.Features(4, Items);
        for (int i = 2000; i < 2400; i++) features.AsSpan((i - 2000) * TinyData.FeatureDim, TinyData.FeatureDim).CopyTo(features.AsSpan(i * TinyData.FeatureDim));
        var data = TinyData.Prepare(TinyData.Log(4, 40, 30, items: Items), features);
        var config = TinyData.Config() with { MlpHidden = 12 };
        var p = ParameterInit.Create(config, ModelLayout.Create(config, data.UserCount, data.CategoryCount), data.Items, data.LikesFollows, 3);
        using var exact = AlpineModel.Create(data, config, p, precision: ItemCachePrecision.Float);
        using var half = AlpineModel.Create(data, config, p, precision: ItemCachePrecision.BFloat16);
        int[] all = [.. Enumerable.Range(0, Items)], reversed = [.. all.Reverse()];
        long kept = 0, seen = 0;
        for (int u = 0; u < data.UserCount; u += 3)
        {
            var pe = exact.Score(u, all);
            var (low, high) = half.BoundsOf(u, all);
            for (int i = 0; i < Items; i++)
                Assert.That(pe[i], Is.InRange(low[i], high[i]), $"user {u} item {i}: the bounds hold the float p");
            foreach (int k in new[] { 1, 10, 100 })
                foreach (var candidates in new[] { all, reversed })
                {
                    Assert.That(half.Recommend(u, candidates, k), Is.EqualTo(exact.Recommend(u, candidates, k)).AsCollection, $"user {u}, k {k}");
                    kept += half.ShortlistOf(u, candidates, k).Length;
                    seen += Items;
                }
        }
        Assert.That(exact.Recommend(0, all, 400).Select(r => r.Probability).Distinct().Count(), Is.LessThan(400), "the copied features tie");
        Assert.That((double)kept / seen, Is.LessThan(0.25), "the bfloat16 rows rule out most candidates");
    }
}
