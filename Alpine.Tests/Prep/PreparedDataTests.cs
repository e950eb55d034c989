using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class PreparedDataTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private static InteractionLog RandomLog(Random rng, int users, int items, int rows)
    {
        var log = new InteractionLog();
        for (int i = 0; i < rows; i++)
        {
            bool click = rng.Next(3) == 0;
            log.Add(rng.Next(users), rng.Next(items), rng.Next(rows / 3), click, click && rng.Next(3) == 0, click && rng.Next(5) == 0);
        }
        return log;
    }

    private static float[] RandomFeatures(Random rng, int items, int d) =>
        Enumerable.Range(0, items * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    /// <summary>Writes a native data folder (interactions.csv, items.npy, optional categories).</summary>
    private static void WriteFolder(string dir, InteractionLog log, float[] features, int d, int[]? categories = null)
    {
        NativeFormat.WriteInteractions(Path.Combine(dir, NativeFormat.InteractionsFile), log);
        using (var w = NpyFile.Create(Path.Combine(dir, NativeFormat.ItemsFile), features.Length / d, d))
        {
            w.WriteRows(features);
            w.Complete();
        }
        if (categories is not null) NativeFormat.WriteCategories(Path.Combine(dir, NativeFormat.CategoriesFile), categories);
    }

    [Test]
    public void FromLogAssemblesSplitSequencesAndEdgesConsistently()
    {
        var rng = new Random(21);
        int items = 150, d = 70;
        var log = RandomLog(rng, users: 7, items, rows: 600);
        var features = RandomFeatures(rng, items, d);
        var p = PreparedData.FromLog(log, new ArrayFeatureRows(features, d), null, new PrepareOptions { TopL = 2, Dims = 6 });

        Assert.That(p.Profile, Is.EqualTo(Profile.Kuaishou));
        Assert.That((p.UserCount, p.ItemCount, p.ImpressionCount), Is.EqualTo((7, items, 600)));
        Assert.That(p.Items.VisualDim, Is.EqualTo(6));
        Assert.That(p.Items.Visual, Has.Length.EqualTo(items * 6));
        var split = Splitter.Split(log);
        Assert.That(p.UserOffsets, Is.EqualTo(split.UserOffsets));
        Assert.That(p.Part, Is.EqualTo(split.Part));
        Assert.That(p.Item, Is.EqualTo(split.Order.Select(i => log.Items[i])));
        Assert.That(p.ClickItem.Length + p.NotClickItem.Length, Is.EqualTo(600));
        for (int u = 0; u < p.UserCount; u++)
        {
            int a = p.ClickOffsets[u], b = p.ClickOffsets[u + 1];
            var pred = new int[(b - a) * 2];
            TemporalGraph.Build(p.ClickItem.AsSpan(a, b - a), p.Items.Visual, 6, 2, EdgeMetric.Euclidean, pred);
            Assert.That(p.ClickGraphPred[(a * 2)..(b * 2)], Is.EqualTo(pred), $"user {u} clicks");
            for (int q = p.UserOffsets[u]; q < p.UserOffsets[u + 1]; q++)
            {
                Assert.That(p.ClickHistEnd[q], Is.InRange(0, b - a));
                Assert.That(p.NotClickHistEnd[q], Is.InRange(0, p.NotClickOffsets[u + 1] - p.NotClickOffsets[u]));
            }
        }
        // Liked items are liked train impressions of their user.
        var lf = p.LikesFollows;
        Assert.That(lf.LikedItems.Length, Is.EqualTo(Enumerable.Range(0, 600).Count(q => p.Part[q] == SplitPart.Train && (p.Flags[q] & InteractionLog.LikeFlag) != 0)));
    }

    [Test]
    public void PcaIsFittedOnTrainItemsOnly()
    {
        // Items 0..9 occur only in test rows and carry huge features; a fit that saw them would be dominated by them.
        var rng = new Random(2);
        int d = 12;
        var log = new InteractionLog();
        for (int i = 0; i < 40; i++) log.Add(0, 10 + i, i, i % 2 == 0, false, false);  // 32 train/val, 8 test rows
        var features = RandomFeatures(rng, 50, d);
        var testItems = Enumerable.Range(0, 40).Skip(32).Select(i => 10 + i).ToArray();
        foreach (int it in testItems) for (int j = 0; j < d; j++) features[it * d + j] *= 1000;
        var p = PreparedData.FromLog(log, new ArrayFeatureRows(features, d), null, new PrepareOptions { Dims = 2 });
        var trainOnly = Pca.Fit(new ArrayFeatureRows(features, d), Enumerable.Range(10, 32).ToArray(), 2);
        var expected = new float[50 * 2];
        Pca.Project(trainOnly.WithScale(p.Options.Scale), new ArrayFeatureRows(features, d), expected);
        Assert.That(p.Items.Visual, Is.EqualTo(expected));
    }

    [Test]
    public void CacheRoundTripsEveryArray()
    {
        var rng = new Random(5);
        int items = 120, d = 80;
        var log = RandomLog(rng, users: 6, items, rows: 500);
        var cats = Enumerable.Range(0, items).Select(i => i % 9).ToArray();
        WriteFolder(_dir, log, RandomFeatures(rng, items, d), d, cats);
        var options = new PrepareOptions { TopL = 3, Metric = EdgeMetric.Cosine, Seed = 4, Dims = 8 };
        var stages = new List<string>();
        var prepared = PreparedData.Prepare(_dir, options, new SyncProgress(s => stages.Add(s.Stage)));
        Assert.That(File.Exists(PreparedData.CachePath(_dir)));
        Assert.That(Directory.GetFiles(_dir, "*.tmp-*"), Is.Empty, "no temporary file left behind");
        Assert.That(stages.Distinct(), Is.SupersetOf(new[] { "read", "split", "pca-cov", "pca-eigen", "project", "sequences", "edges", "cache" }));

        var loaded = PreparedData.Load(_dir);
        Assert.That(loaded.Profile, Is.EqualTo(Profile.Thacil));
        Assert.That(loaded.CategoryCount, Is.EqualTo(9));
        Assert.That(loaded.Options, Is.EqualTo(options));
        Assert.That((loaded.UserCount, loaded.ItemCount, loaded.TopL, loaded.Metric, loaded.Fingerprint),
            Is.EqualTo((prepared.UserCount, prepared.ItemCount, 3, EdgeMetric.Cosine, prepared.Fingerprint)));
        Assert.That(loaded.Items.Visual, Is.EqualTo(prepared.Items.Visual));
        Assert.That(loaded.Items.Category, Is.EqualTo(cats));
        Assert.That(loaded.UserOffsets, Is.EqualTo(prepared.UserOffsets));
        Assert.That(loaded.Item, Is.EqualTo(prepared.Item));
        Assert.That(loaded.Timestamp, Is.EqualTo(prepared.Timestamp));
        Assert.That(loaded.Flags, Is.EqualTo(prepared.Flags));
        Assert.That(loaded.Part, Is.EqualTo(prepared.Part));
        Assert.That(loaded.ClickOffsets, Is.EqualTo(prepared.ClickOffsets));
        Assert.That(loaded.ClickItem, Is.EqualTo(prepared.ClickItem));
        Assert.That(loaded.ClickGraphPred, Is.EqualTo(prepared.ClickGraphPred));
        Assert.That(loaded.NotClickOffsets, Is.EqualTo(prepared.NotClickOffsets));
        Assert.That(loaded.NotClickItem, Is.EqualTo(prepared.NotClickItem));
        Assert.That(loaded.NotClickGraphPred, Is.EqualTo(prepared.NotClickGraphPred));
        Assert.That(loaded.ClickHistEnd, Is.EqualTo(prepared.ClickHistEnd));
        Assert.That(loaded.NotClickHistEnd, Is.EqualTo(prepared.NotClickHistEnd));
        Assert.That(loaded.LikesFollows.LikedOffsets, Is.EqualTo(prepared.LikesFollows.LikedOffsets));
        Assert.That(loaded.LikesFollows.LikedItems, Is.EqualTo(prepared.LikesFollows.LikedItems));
        Assert.That(loaded.LikesFollows.FollowedOffsets, Is.EqualTo(prepared.LikesFollows.FollowedOffsets));
        Assert.That(loaded.LikesFollows.FollowedItems, Is.EqualTo(prepared.LikesFollows.FollowedItems));
    }

    [Test]
    public void LowDimensionalFeaturesAreRotatedNotReduced()
    {
        // SPEC D3: d ≤ 64 keeps all d dims, rotated (so every distance, hence every graph edge, stays); --scale none
        // leaves the rotation as it is (the default's one factor is checked on its own).
        var rng = new Random(6);
        var features = RandomFeatures(rng, 30, 5);
        WriteFolder(_dir, RandomLog(rng, 3, 30, 90), features, 5);
        var p = PreparedData.Prepare(_dir, new PrepareOptions { Scale = FeatureScale.None });
        Assert.That(p.Items.VisualDim, Is.EqualTo(5));
        Assert.That(p.Items.Visual, Is.Not.EqualTo(features));
        static double Dist(float[] a, int i, int j) => Math.Sqrt(Enumerable.Range(0, 5).Sum(k => Math.Pow(a[i * 5 + k] - a[j * 5 + k], 2)));
        for (int i = 0; i < 30; i++)
            for (int j = i + 1; j < 30; j += 7)
                Assert.That(Dist(p.Items.Visual, i, j), Is.EqualTo(Dist(features, i, j)).Within(1e-4 * (1 + Dist(features, i, j))));
    }

    [Test]
    public void RefusesAStaleCacheAfterTheSourceChanged()
    {
        var rng = new Random(7);
        var log = RandomLog(rng, 3, 40, 120);
        WriteFolder(_dir, log, RandomFeatures(rng, 40, 6), 6);
        PreparedData.Prepare(_dir, new PrepareOptions());
        Assert.That(PreparedData.Load(_dir).ImpressionCount, Is.EqualTo(120));

        log.Add(0, 1, 999, true, false, false);
        string csv = Path.Combine(_dir, NativeFormat.InteractionsFile);
        File.Delete(csv);
        NativeFormat.WriteInteractions(csv, log);
        var e = Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!;
        Assert.That(e.Message, Does.Contain("stale").And.Contain("alpine prepare"));
        Assert.That(PreparedData.LoadOrPrepare(_dir, new PrepareOptions()).ImpressionCount, Is.EqualTo(121));
        Assert.That(PreparedData.Load(_dir).ImpressionCount, Is.EqualTo(121), "LoadOrPrepare rewrote the cache");
    }

    [Test]
    public void RefusesAMissingTruncatedOrCorruptCacheAndLoadOrPrepareRebuildsIt()
    {
        var rng = new Random(8);
        WriteFolder(_dir, RandomLog(rng, 4, 50, 200), RandomFeatures(rng, 50, 7), 7);
        string cache = PreparedData.CachePath(_dir);
        Assert.That(Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!.Message, Does.Contain("alpine prepare"));

        PreparedData.Prepare(_dir, new PrepareOptions());
        var good = File.ReadAllBytes(cache);

        File.WriteAllBytes(cache, good[..(good.Length - 100)]);
        var e = Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!;
        Assert.That(e.Message, Does.StartWith(cache).And.Contain("truncated"));

        var flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x40;
        File.WriteAllBytes(cache, flipped);
        e = Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!;
        Assert.That(e.Message, Does.StartWith(cache).And.Contain("corrupt"));

        var foreign = (byte[])good.Clone();
        foreign[0] = (byte)'X';
        File.WriteAllBytes(cache, foreign);
        Assert.That(Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!.Message, Does.Contain("magic"));

        // A cache of another format version (an older or newer build): one line saying to re-run prepare.
        var other = (byte[])good.Clone();
        BitConverter.TryWriteBytes(other.AsSpan(8), 99);
        File.WriteAllBytes(cache, other);
        e = Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!;
        Assert.That(e.Message, Does.StartWith(cache).And.Contain("version 99").And.Contain("alpine prepare").And.Not.Contain("\n"));

        var rebuilt = PreparedData.LoadOrPrepare(_dir, new PrepareOptions());
        Assert.That(rebuilt.ImpressionCount, Is.EqualTo(200));
        Assert.That(File.ReadAllBytes(cache), Is.EqualTo(good), "re-preparing gives the same bytes (deterministic)");
    }

    [TestCase("item")]
    [TestCase("edge")]
    [TestCase("history")]
    [TestCase("offsets")]
    [TestCase("flags")]
    public void RefusesACacheWhoseChecksumWasRewrittenOverBadContent(string broken)
    {
        // A valid checksum over content that would index out of range in training: refused by the invariant check.
        var rng = new Random(10);
        WriteFolder(_dir, RandomLog(rng, 4, 30, 120), RandomFeatures(rng, 30, 5), 5);
        var d = PreparedData.Prepare(_dir, new PrepareOptions());
        Assert.That(PreparedCache.Inconsistency(d), Is.Null, "a prepared cache is consistent");
        switch (broken)
        {
            case "item": d.Item[7] = d.ItemCount; break;
            case "edge": d.ClickGraphPred[^1] = d.ClickItem.Length; break;
            case "history": d.NotClickHistEnd[3] = d.NotClickItem.Length + 1; break;
            case "offsets": d.UserOffsets[2] = d.UserOffsets[1] - 1; break;
            case "flags": d.Flags[0] = InteractionLog.LikeFlag; break;
        }
        PreparedCache.Write(PreparedData.CachePath(_dir), d);
        var e = Assert.Throws<DataFormatException>(() => PreparedData.Load(_dir))!;
        Assert.That(e.Message, Does.StartWith(PreparedData.CachePath(_dir)).And.Contain("corrupt").And.Contain("alpine prepare"));
    }

    [Test]
    public void LoadOrPrepareRepreparesWhenOptionsDiffer()
    {
        var rng = new Random(9);
        WriteFolder(_dir, RandomLog(rng, 4, 50, 200), RandomFeatures(rng, 50, 7), 7);
        PreparedData.Prepare(_dir, new PrepareOptions { TopL = 1 });
        var p = PreparedData.LoadOrPrepare(_dir, new PrepareOptions { TopL = 2 });
        Assert.That(p.TopL, Is.EqualTo(2));
        Assert.That(p.ClickGraphPred, Has.Length.EqualTo(2 * p.ClickItem.Length));
        Assert.That(PreparedData.Load(_dir).TopL, Is.EqualTo(2));
    }

    [Test]
    public void ACacheOfOneEigenMethodIsNotReusedForTheOther()
    {
        var rng = new Random(12);
        WriteFolder(_dir, RandomLog(rng, 4, 60, 240), RandomFeatures(rng, 60, 20), 20);
        var randomized = new PrepareOptions { Dims = 4 };
        var full = randomized with { Eigen = PcaEigen.Full };
        Assert.That(randomized.Eigen, Is.EqualTo(PcaEigen.Randomized), "the default");
        PreparedData.Prepare(_dir, full);
        Assert.That(PreparedData.Load(_dir).Options.Eigen, Is.EqualTo(PcaEigen.Full), "the cache header keeps the method");
        Assert.That(PreparedData.IsCacheFresh(_dir, full));
        Assert.That(PreparedData.IsCacheFresh(_dir, randomized), Is.False);
        Assert.That(PreparedData.LoadOrPrepare(_dir, randomized).Options.Eigen, Is.EqualTo(PcaEigen.Randomized));
        Assert.That(PreparedData.Load(_dir).Options, Is.EqualTo(randomized), "LoadOrPrepare re-prepared with the other method");
        Assert.That(full.Flags(), Does.Contain("--pca full"));
        Assert.That(randomized.Flags(), Does.Not.Contain("--pca"), "the default method is not spelled out");
    }

    [Test]
    public void ACacheOfOneFeatureScaleIsNotReusedForTheOtherAndUnitScaleIsOneFactor()
    {
        var rng = new Random(13);
        var features = RandomFeatures(rng, 60, 20);
        for (int i = 0; i < features.Length; i++) features[i] *= 50;
        WriteFolder(_dir, RandomLog(rng, 4, 60, 240), features, 20);
        var unit = new PrepareOptions { Dims = 4, Eigen = PcaEigen.Full };
        var none = unit with { Scale = FeatureScale.None };
        Assert.That(unit.Scale, Is.EqualTo(FeatureScale.Unit), "the default");
        var plain = PreparedData.Prepare(_dir, none);
        var scaled = PreparedData.LoadOrPrepare(_dir, unit);
        Assert.That(PreparedData.Load(_dir).Options.Scale, Is.EqualTo(FeatureScale.Unit), "the cache header keeps the scale");
        Assert.That(PreparedData.IsCacheFresh(_dir, unit));
        Assert.That(PreparedData.IsCacheFresh(_dir, none), Is.False);
        Assert.That(none.Flags(), Does.Contain("--scale none"));
        Assert.That(unit.Flags(), Does.Not.Contain("--scale"), "the default scale is not spelled out");

        var a = plain.Items.Visual;
        var b = scaled.Items.Visual;
        double ratio = Math.Sqrt(b.Sum(x => (double)x * x) / a.Sum(x => (double)x * x));
        Assert.That(ratio, Is.LessThan(0.1), "features × 50 come back near unit scale");
        for (int i = 0; i < a.Length; i++) Assert.That(b[i], Is.EqualTo(a[i] * ratio).Within(1e-4 * (1 + Math.Abs(b[i]))), $"entry {i}");
        Assert.That(scaled.ClickGraphPred, Is.EqualTo(plain.ClickGraphPred), "nearest earlier items do not depend on one global factor");
        Assert.That(scaled.NotClickGraphPred, Is.EqualTo(plain.NotClickGraphPred));
    }

    [Test]
    public void RefusesBadOptions() =>
        Assert.That(Assert.Throws<UsageException>(() => new PrepareOptions { TopL = 0 }.Validate())!.Message, Does.Contain("--top-l"));

    private sealed class SyncProgress(Action<(string Stage, double Fraction)> report) : IProgress<(string Stage, double Fraction)>
    {
        public void Report((string Stage, double Fraction) value) => report(value);
    }
}
