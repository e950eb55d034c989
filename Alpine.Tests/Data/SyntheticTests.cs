using System.Globalization;
using System.Security.Cryptography;
using Alpine.Data;
using Alpine.Data.Synthetic;
using Alpine.Model;

namespace Alpine.Tests.Data;

[TestFixture]
public class SyntheticTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private string Gen(string name, Profile profile, int seed, SyntheticPreset preset = SyntheticPreset.Tiny)
    {
        string dir = Path.Combine(_dir, name);
        SyntheticLog.Generate(dir, preset, profile, seed);
        return dir;
    }

    private static Dictionary<string, string> Hashes(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    /// <summary>The rows of interactions.csv, parsed independently of the library's reader.</summary>
    private static List<(int User, int Item, long Time, bool Click, bool Like, bool Follow)> ReadRows(string dir, out string header)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, NativeFormat.InteractionsFile));
        header = lines[0];
        return lines.Skip(1).Select(l =>
        {
            var f = l.Split(',');
            Assert.That(f, Has.Length.EqualTo(6), l);
            return (int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture), f[3] == "1", f[4] == "1", f[5] == "1");
        }).ToList();
    }

    [Test]
    public void SameSeedGivesIdenticalFilesAndAnotherSeedDoesNot()
    {
        foreach (var profile in new[] { Profile.Kuaishou, Profile.Thacil })
        {
            var a = Hashes(Gen($"a-{profile}", profile, 7));
            var b = Hashes(Gen($"b-{profile}", profile, 7));
            var c = Hashes(Gen($"c-{profile}", profile, 8));
            Assert.That(a, Is.EqualTo(b), $"{profile}: same seed");
            Assert.That(a.Keys, Is.EquivalentTo(c.Keys));
            Assert.That(c[NativeFormat.InteractionsFile], Is.Not.EqualTo(a[NativeFormat.InteractionsFile]), $"{profile}: other seed");
            Assert.That(c[NativeFormat.ItemsFile], Is.Not.EqualTo(a[NativeFormat.ItemsFile]), $"{profile}: other seed");
        }
    }

    [Test]
    public void KuaishouFolderHasTheNativeShape()
    {
        string dir = Gen("k", Profile.Kuaishou, 3);
        var size = SyntheticSize.Of(SyntheticPreset.Tiny);
        Assert.That(Directory.GetFiles(dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { NativeFormat.InteractionsFile, NativeFormat.ItemsFile }));
        using (var npy = NpyFile.OpenRead(Path.Combine(dir, NativeFormat.ItemsFile)))
        {
            Assert.That((npy.Rows, npy.Cols), Is.EqualTo(((long)size.Items, 2048)));
            var rows = new float[16 * 2048];
            npy.ReadRowsChecked(size.Items - 16, rows);
            Assert.That(rows.Distinct().Count(), Is.GreaterThan(rows.Length / 2), "features are not constant");
        }

        var folder = DataFolder.Open(dir); // the library's own reader accepts it
        Assert.That((folder.Profile, folder.FeatureDim, folder.LoadLog().Count), Is.EqualTo((Profile.Kuaishou, 2048, (int)size.Impressions)));

        var log = ReadRows(dir, out string header);
        Assert.That(header, Is.EqualTo("user_id,item_id,timestamp,click,like,follow"), "no split column: the library splits (SPEC D1)");
        Assert.That(log, Has.Count.EqualTo(size.Impressions));
        Assert.That(log.Select(r => r.User).Distinct().Order(), Is.EqualTo(Enumerable.Range(0, size.Users)), "user ids dense");
        Assert.That(log.All(r => r.Item >= 0 && r.Item < size.Items), "item ids index feature rows");
        Assert.That(log.Where(r => r.Like || r.Follow).All(r => r.Click), "like/follow only on clicks");
        Assert.That(log.Count(r => r.Like), Is.GreaterThan(0));
        Assert.That(log.Count(r => r.Follow), Is.GreaterThan(0));
        Assert.That(log.Count(r => r.Click), Is.InRange(log.Count / 10, log.Count / 2));

        int ties = 0, longGaps = 0;
        for (int i = 1; i < log.Count; i++)
        {
            if (log[i].User != log[i - 1].User) continue;
            Assert.That(log[i].Time, Is.GreaterThanOrEqualTo(log[i - 1].Time), $"row {i + 2}: time runs backwards for user {log[i].User}");
            if (log[i].Time == log[i - 1].Time) ties++;
            if (log[i].Time - log[i - 1].Time > 86400) longGaps++;
        }
        Assert.That(ties, Is.GreaterThan(0), "pages share timestamps");
        Assert.That(longGaps, Is.GreaterThan(0), "users come back after long gaps");
    }

    [Test]
    public void ThacilFolderHasCategoriesAndClicksOnly()
    {
        string dir = Gen("t", Profile.Thacil, 3);
        var size = SyntheticSize.Of(SyntheticPreset.Tiny);
        using (var npy = NpyFile.OpenRead(Path.Combine(dir, NativeFormat.ItemsFile)))
            Assert.That((npy.Rows, npy.Cols), Is.EqualTo(((long)size.Items, 512)));
        var log = ReadRows(dir, out _);
        Assert.That(log.Any(r => r.Like || r.Follow), Is.False, "Dataset II has no likes or follows");
        Assert.That(log.Count(r => r.Click), Is.GreaterThan(0));

        var folder = DataFolder.Open(dir);
        Assert.That((folder.Profile, folder.FeatureDim, folder.LoadCategories()!.Length), Is.EqualTo((Profile.Thacil, 512, size.Items)));
        folder.ValidateFeatures();

        var cats = File.ReadAllLines(Path.Combine(dir, NativeFormat.CategoriesFile));
        Assert.That(cats[0], Is.EqualTo("item_id,category_id"));
        Assert.That(cats, Has.Length.EqualTo(size.Items + 1));
        var world = SyntheticWorld.Create(SyntheticPreset.Tiny, 3);
        for (int i = 0; i < size.Items; i++)
            Assert.That(cats[i + 1], Is.EqualTo($"{i},{world.TopicOfItem[i]}"), "category = topic");
        Assert.That(world.TopicOfItem.Distinct().Count(), Is.GreaterThan(SyntheticParameters.Topics / 2));

        // Same seed, other profile: the same impressions and clicks (only likes/follows and features differ).
        var kuaishou = ReadRows(Gen("k", Profile.Kuaishou, 3), out _);
        Assert.That(log.Select(r => (r.User, r.Item, r.Time, r.Click)), Is.EqualTo(kuaishou.Select(r => (r.User, r.Item, r.Time, r.Click))));
    }

    [Test]
    public void LogCarriesThePlantedInterestsDislikesAndLikes()
    {
        const int seed = 11;
        string dir = Gen("s", Profile.Kuaishou, seed);
        var world = SyntheticWorld.Create(SyntheticPreset.Tiny, seed);
        var users = Enumerable.Range(0, world.Size.Users).Select(u => new SyntheticUser(world, u)).ToArray();
        var log = ReadRows(dir, out _);

        // Click rates by the kind of topic the item belongs to, for its user.
        var shown = new long[3]; var clicked = new long[3]; // 0 interest, 1 neither, 2 disliked
        long coreClicks = 0, coreLikes = 0, otherClicks = 0, otherLikes = 0;
        foreach (var r in log)
        {
            int topic = world.TopicOfItem[r.Item];
            var interest = users[r.User].Interests.FirstOrDefault(t => t.Topic == topic);
            int kind = interest is not null ? 0 : users[r.User].Disliked.Contains(topic) ? 2 : 1;
            shown[kind]++;
            if (r.Click) clicked[kind]++;
            if (!r.Click) continue;
            if (interest is { Core: true }) { coreClicks++; if (r.Like) coreLikes++; }
            else { otherClicks++; if (r.Like) otherLikes++; }
        }
        var rate = Enumerable.Range(0, 3).Select(k => (double)clicked[k] / shown[k]).ToArray();
        TestContext.Out.WriteLine($"click rate: interest {rate[0]:F3} ({shown[0]}), other {rate[1]:F3} ({shown[1]}), disliked {rate[2]:F3} ({shown[2]})");
        Assert.That(shown.All(n => n > 200), "every kind is shown often enough to compare");
        Assert.That(rate[0], Is.GreaterThan(2 * rate[1]), "interest topics are clicked far more");
        Assert.That(rate[1], Is.GreaterThan(2 * rate[2]), "disliked topics are clicked far less (true negatives)");

        double coreLikeRate = (double)coreLikes / coreClicks, otherLikeRate = (double)otherLikes / otherClicks;
        TestContext.Out.WriteLine($"likes per click: core {coreLikeRate:F3}, other {otherLikeRate:F3}");
        Assert.That(coreLikeRate, Is.GreaterThan(3 * otherLikeRate), "likes concentrate on lasting topics");
    }

    [Test]
    public void TransientInterestsAreClickedWhileAliveAndLessAfterwards()
    {
        const int seed = 5;
        string dir = Gen("d", Profile.Kuaishou, seed);
        var world = SyntheticWorld.Create(SyntheticPreset.Tiny, seed);
        var log = ReadRows(dir, out _);
        long inShown = 0, inClicked = 0, outShown = 0, outClicked = 0;
        foreach (var group in log.GroupBy(r => r.User))
        {
            var user = new SyntheticUser(world, group.Key);
            var rows = group.ToList();
            for (int p = 0; p < rows.Count; p++)
            {
                var interest = user.Interests.FirstOrDefault(t => t.Topic == world.TopicOfItem[rows[p].Item]);
                if (interest is null || interest.Core) continue;
                bool alive = interest.AliveAt((double)p / rows.Count); // approximately: focus is set per session
                if (alive) { inShown++; if (rows[p].Click) inClicked++; }
                else { outShown++; if (rows[p].Click) outClicked++; }
            }
        }
        Assert.That(inShown, Is.GreaterThan(100));
        Assert.That(outShown, Is.GreaterThan(100), "old interests are shown again after they end");
        Assert.That((double)inClicked / inShown, Is.GreaterThan(1.5 * outClicked / outShown), "interests switch over time");
    }

    [Test]
    public void OldTopicsAreClickedAgainAfterLongGaps()
    {
        // From the written log and categories alone: an impression of a topic the user has clicked several
        // times, but last more than a day and several clicks ago, is clicked far more often than one of a
        // topic the user never clicked. That memory is what the temporal graph's long-range edge can carry
        // (SPEC D4, D17).
        string dir = Path.Combine(_dir, "gaps");
        SyntheticLog.Generate(dir, new SyntheticSize(40, 3_000, 16_000), Profile.Thacil, 6);
        var topic = File.ReadLines(Path.Combine(dir, NativeFormat.CategoriesFile)).Skip(1)
            .Select(l => int.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        long oldShown = 0, oldClicked = 0, newShown = 0, newClicked = 0;
        foreach (var rows in ReadRows(dir, out _).GroupBy(r => r.User))
        {
            var lastClick = new Dictionary<int, (long Time, int Index, int Count)>();
            int clicks = 0;
            foreach (var r in rows)
            {
                int c = topic[r.Item];
                if (!lastClick.TryGetValue(c, out var last)) { newShown++; if (r.Click) newClicked++; }
                else if (last.Count >= 3 && r.Time - last.Time > 86400 && clicks - last.Index >= 5) { oldShown++; if (r.Click) oldClicked++; }
                if (r.Click) lastClick[c] = (r.Time, clicks++, last.Count + 1);
            }
        }
        double oldRate = (double)oldClicked / oldShown, newRate = (double)newClicked / newShown;
        TestContext.Out.WriteLine($"click rate: old topic after a long gap {oldRate:F3} ({oldShown}), never-clicked topic {newRate:F3} ({newShown})");
        Assert.That(oldShown, Is.GreaterThan(300));
        Assert.That(newShown, Is.GreaterThan(300));
        Assert.That(oldRate, Is.GreaterThan(2 * newRate));
    }

    [Test]
    public void ParallelChunkedFeaturesEqualOneSequentialPass()
    {
        // The file is written in 2,048-row chunks, rows in parallel; one thread over all rows must give the same bits.
        var size = new SyntheticSize(3, SyntheticFeatures.ChunkRows + 77, 30);
        string dir = Path.Combine(_dir, "chunks");
        SyntheticLog.Generate(dir, size, Profile.Thacil, 21);
        var features = new SyntheticFeatures(SyntheticWorld.Create(size, 21), 512);
        var expected = new float[size.Items * 512];
        features.ComputeRows(0, expected);
        using var npy = NpyFile.OpenRead(Path.Combine(dir, NativeFormat.ItemsFile));
        var actual = new float[expected.Length];
        npy.ReadRows(0, actual);
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.AsBytes(actual.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan())), Is.True, "bit-identical");
    }

    [Test]
    public void FeaturesKeepTopicsApart()
    {
        const int seed = 2;
        string dir = Gen("f", Profile.Thacil, seed);
        var world = SyntheticWorld.Create(SyntheticPreset.Tiny, seed);
        using var npy = NpyFile.OpenRead(Path.Combine(dir, NativeFormat.ItemsFile));
        const int n = 300;
        var x = new float[n * npy.Cols];
        npy.ReadRows(0, x);
        double within = 0, between = 0; long nw = 0, nb = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double d = System.Numerics.Tensors.TensorPrimitives.Distance(x.AsSpan(i * npy.Cols, npy.Cols), x.AsSpan(j * npy.Cols, npy.Cols));
                if (world.TopicOfItem[i] == world.TopicOfItem[j]) { within += d * d; nw++; } else { between += d * d; nb++; }
            }
        Assert.That(nw, Is.GreaterThan(50));
        Assert.That(within / nw, Is.LessThan(0.6 * (between / nb)), "items of one topic lie closer together");
    }

    [Test]
    public void FeaturesSpanTheLatentSubspaceSoPcaRecoversIt()
    {
        string dir = Gen("p", Profile.Thacil, 9);
        using var npy = NpyFile.OpenRead(Path.Combine(dir, NativeFormat.ItemsFile));
        int n = 1000, d = npy.Cols; // enough rows for a clear spectrum, few enough for a quick test
        var x = new float[n * d];
        npy.ReadRows(0, x);
        var mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i * d + j] / (double)n;
        var centred = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, d, (i, j) => x[i * d + j] - mean[j]);
        var eig = (centred.TransposeThisAndMultiply(centred) / (n - 1)).Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric);
        var values = eig.EigenValues.Select(v => v.Real).OrderDescending().ToArray();
        int k = SyntheticParameters.LatentDim;
        TestContext.Out.WriteLine($"eigenvalues around k: {values[k - 2]:F2} {values[k - 1]:F2} | {values[k]:F2} {values[k + 1]:F2}");
        Assert.That(values[k - 1], Is.GreaterThan(5 * values[k]), "a k-d signal subspace stands clear of the noise");
        // Beyond k only the noise is left: its sample eigenvalues stay below the Marchenko–Pastur edge σ²(1 + √(d/n))².
        double sigma2 = SyntheticParameters.FeatureNoise * SyntheticParameters.FeatureNoise;
        Assert.That(values[k], Is.LessThan(1.1 * sigma2 * Math.Pow(1 + Math.Sqrt((double)d / n), 2)), "beyond k the spectrum is noise");
    }

    [Test]
    public void ImpressionCountsSumExactlyForAnySize()
    {
        foreach (var size in new[] { new SyntheticSize(7, 100, 1001), new SyntheticSize(1, 64, 1), new SyntheticSize(13, 500, 99_991) })
        {
            var counts = SyntheticWorld.Create(size, 1).ImpressionsOfUser;
            Assert.That(counts, Has.Length.EqualTo(size.Users));
            Assert.That(counts.Sum(c => (long)c), Is.EqualTo(size.Impressions));
            Assert.That(counts.Min(), Is.GreaterThanOrEqualTo(Math.Max(1, size.Impressions / size.Users / 5)));
        }
        Assert.That(SyntheticSize.Of(SyntheticPreset.Paper), Is.EqualTo(new SyntheticSize(10_000, 3_239_534, 13_661_383)), "Dataset I, paper Table 1");
    }

    [Test]
    public void RefusesANonEmptyFolderUnlessForcedAndLeavesItUntouched()
    {
        string dir = Path.Combine(_dir, "busy");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "mine");
        var e = Assert.Throws<UsageException>(() => SyntheticLog.Generate(dir, SyntheticPreset.Tiny, Profile.Kuaishou, 1))!;
        Assert.That(e.Message, Does.Contain("busy").And.Contain("not empty"));
        Assert.That(Directory.GetFileSystemEntries(dir).Select(Path.GetFileName), Is.EqualTo(new[] { "keep.txt" }));

        // --force replaces a data folder only: not this one, which holds the user's file.
        e = Assert.Throws<UsageException>(() => SyntheticLog.Generate(dir, SyntheticPreset.Tiny, Profile.Kuaishou, 1, force: true))!;
        Assert.That(e.Message, Does.Contain("not a data folder").And.Contain("keep.txt"));
        Assert.That(Directory.GetFileSystemEntries(dir).Select(Path.GetFileName), Is.EqualTo(new[] { "keep.txt" }));

        File.Delete(Path.Combine(dir, "keep.txt"));
        SyntheticLog.Generate(dir, SyntheticPreset.Tiny, Profile.Kuaishou, 2);
        var s = SyntheticLog.Generate(dir, SyntheticPreset.Tiny, Profile.Kuaishou, 1, force: true);
        Assert.That(s.Impressions, Is.EqualTo(SyntheticSize.Of(SyntheticPreset.Tiny).Impressions));
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "busy" }), "no temp or old folder left");
    }

    [Test]
    public void CancellingLeavesNothingBehind()
    {
        string dir = Path.Combine(_dir, "cancelled");
        using var cts = new CancellationTokenSource();
        var progress = new CancelAt("items.npy", cts);
        Assert.Catch<OperationCanceledException>(() => SyntheticLog.Generate(dir, SyntheticPreset.Tiny, Profile.Kuaishou, 1, progress, cts.Token));
        Assert.That(progress.Seen, Does.Contain("impressions").And.Contain("items.npy"));
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.Empty);
    }

    private sealed class CancelAt(string stage, CancellationTokenSource cts) : IProgress<(string Stage, double Fraction)>
    {
        public HashSet<string> Seen { get; } = [];
        public void Report((string Stage, double Fraction) p)
        {
            Seen.Add(p.Stage);
            if (p.Stage == stage) cts.Cancel();
        }
    }

    [TestCase("--preset", "huge", "--profile", "kuaishou")]
    [TestCase("--preset", "tiny", "--profile", "netflix")]
    [TestCase("--preset", "tiny", "--profile", "thacil", "--colour", "red")]
    [TestCase("--preset", "tiny", "--seed", "-3")]
    public void CliRefusesBadOptionsWithCode2AndNoFolder(params string[] args)
    {
        string dir = Path.Combine(_dir, "out");
        int rc = Alpine.Cli.Program.Main(["generate", .. args, "--out", dir]);
        Assert.That(rc, Is.EqualTo(2));
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.Empty, "no folder, no temp folder");
    }

    [Test]
    public void CliWritesTheFolder()
    {
        string dir = Path.Combine(_dir, "cli");
        int rc = Alpine.Cli.Program.Main(["generate", "--preset", "tiny", "--profile", "thacil", "--seed", "4", "--out", dir]);
        Assert.That(rc, Is.Zero);
        Assert.That(Hashes(dir), Is.EqualTo(Hashes(Gen("lib", Profile.Thacil, 4))), "the CLI writes what the library writes");
    }
}
