using System.Text;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Tests.Train;
using Alpine.Train;

namespace Alpine.Tests.Data;

/// <summary>
/// Every reader against 200 seeded corruptions of a small valid file (byte flips, truncations, insertions),
/// through the library entry points the CLI calls. Each outcome must be a one-line user error (the
/// exceptions the CLI turns into exit 2) or a success with a valid result; never another exception, a hang,
/// or output left half-written on disk.
/// </summary>
[TestFixture]
public class ReaderFuzzTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private string Data => Path.Combine(_dir, "data");

    /// <summary>A kuaishou folder (6 users, 40 items × 8-d) or, with categories, a thacil one.</summary>
    private void WriteData(bool categories = false)
    {
        Directory.CreateDirectory(Data);
        NativeFormat.WriteInteractions(Path.Combine(Data, NativeFormat.InteractionsFile), TinyData.Log(seed: 2, users: 6, maxPerUser: 16));
        var f = TinyData.Features(2);
        ImportFixtures.WriteNpy(Path.Combine(Data, NativeFormat.ItemsFile), 40, TinyData.FeatureDim, (r, c) => f[r * TinyData.FeatureDim + c]);
        if (categories) NativeFormat.WriteCategories(Path.Combine(Data, NativeFormat.CategoriesFile), [.. Enumerable.Range(0, 40).Select(i => i % 5)]);
    }

    /// <summary>Prepares (as <c>alpine prepare</c> and a first <c>train</c> do) with one file of the folder corrupted.</summary>
    private void FuzzPrepare(string file, int seed)
    {
        string path = Path.Combine(Data, file);
        byte[] valid = File.ReadAllBytes(path);
        string cache = PreparedData.CachePath(Data);
        Fuzz.Run(seed, valid, bytes =>
        {
            File.Delete(cache);
            File.WriteAllBytes(path, bytes);
        }, () =>
        {
            var data = PreparedData.Prepare(Data, new PrepareOptions());
            var back = PreparedData.Load(Data);
            Assert.That(back.ImpressionCount, Is.EqualTo(data.ImpressionCount));
            // Dense users: the counts every command prints agree.
            Assert.That(DatasetStats.Of(back).Users, Is.EqualTo(back.UserCount));
            Assert.That(back.Items.Visual.All(float.IsFinite));
        }, () => Assert.That(Directory.EnumerateFiles(Data).Select(Path.GetFileName).Where(n => n!.StartsWith(".") || n == PreparedData.CacheFile), Is.Empty,
            "a refused preparation leaves no cache and no temp file"));
    }

    [Test]
    public void InteractionsCsv()
    {
        WriteData();
        FuzzPrepare(NativeFormat.InteractionsFile, 101);
    }

    [Test]
    public void ItemsNpy()
    {
        WriteData();
        FuzzPrepare(NativeFormat.ItemsFile, 102);
    }

    [Test]
    public void ItemCategoriesCsv()
    {
        WriteData(categories: true);
        FuzzPrepare(NativeFormat.CategoriesFile, 103);
    }

    [Test]
    public void PreparedCache()
    {
        WriteData();
        PreparedData.Prepare(Data, new PrepareOptions());
        string cache = PreparedData.CachePath(Data);
        var valid = File.ReadAllBytes(cache);
        // Half the cases carry a recomputed checksum, so the header and length checks behind it are reached too.
        Fuzz.Run(104, valid, bytes => File.WriteAllBytes(cache, Fuzz.Sometimes(bytes, ResealCache)), () =>
        {
            // What stats, train, evaluate and rank read.
            bool fresh = PreparedData.IsCacheFresh(Data);
            var d = PreparedData.Load(Data);
            Assert.That(fresh, Is.True);
            // Usable: what training indexes stays in range.
            Assert.That(d.UserOffsets[^1], Is.EqualTo(d.ImpressionCount));
            Assert.That(d.Item.Concat(d.ClickItem).Concat(d.NotClickItem), Is.All.InRange(0, d.ItemCount - 1));
            Assert.That(d.ClickGraphPred.Concat(d.NotClickGraphPred), Is.All.InRange(-1, d.ImpressionCount));
            Assert.That(DatasetStats.Of(d).Interactions, Is.EqualTo(d.ImpressionCount));
        }, () => { });
    }

    /// <summary>The cache's trailing SHA-256 recomputed over everything before it.</summary>
    private static byte[] ResealCache(byte[] b)
    {
        if (b.Length < 32) return b;
        System.Security.Cryptography.SHA256.HashData(b.AsSpan(0, b.Length - 32), b.AsSpan(b.Length - 32));
        return b;
    }

    /// <summary>A model file's payload length and SHA-256 recomputed (header: magic, version, kind, int64 length).</summary>
    private static byte[] ResealModel(byte[] b)
    {
        const int header = 24, hash = 32;
        if (b.Length < header + hash) return b;
        BitConverter.TryWriteBytes(b.AsSpan(16), (long)(b.Length - header - hash));
        System.Security.Cryptography.SHA256.HashData(b.AsSpan(header, b.Length - header - hash), b.AsSpan(b.Length - hash));
        return b;
    }

    /// <summary>A valid model (or checkpoint) of a small thacil config.</summary>
    private static ModelFile SampleModel(bool checkpoint)
    {
        var rng = new Random(5);
        float[] Rand(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f)];
        var config = new ModelConfig { Profile = Profile.Thacil, VisualDim = 6, CategoryDim = 3, Hidden = 5, MlpHidden = 7, TopL = 1, Window = 11 };
        int n = ModelLayout.Create(config, 4, 3).Size;
        return new ModelFile
        {
            Config = config,
            Shape = new ModelShape(UserCount: 4, CategoryCount: 3, ItemDim: config.ItemDim, Hidden: 5, MlpHidden: 7, ParameterCount: n),
            Fingerprint = "abc123",
            Prepared = new PrepareOptions(),
            Parameters = Rand(n),
            Checkpoint = checkpoint
                ? new CheckpointState(Rand(n), Rand(n), new TrainingProgress { Options = new TrainOptions(), Epoch = 1, Step = 7, Device = "cpu" })
                : null,
        };
    }

    [TestCase(false, 105)]
    [TestCase(true, 106)]
    public void ModelAndCheckpointFiles(bool checkpoint, int seed)
    {
        string path = Path.Combine(_dir, checkpoint ? "checkpoint.alp" : "model.alp");
        SampleModel(checkpoint).Write(path);
        Fuzz.Run(seed, File.ReadAllBytes(path), bytes => File.WriteAllBytes(path, Fuzz.Sometimes(bytes, ResealModel)), () =>
        {
            var m = ModelFile.Read(path);
            Assert.That(m.Parameters, Has.Length.EqualTo(m.Shape.ParameterCount));
            Assert.That(m.Checkpoint is not null, Is.EqualTo(checkpoint));
        }, () => { });
    }

    /// <summary>An import into <c>out</c> from corrupted sources: success is a valid native folder, failure leaves nothing.</summary>
    private void FuzzImport(int seed, string corrupt, Action import)
    {
        string outDir = Path.Combine(_dir, "out");
        byte[] valid = File.ReadAllBytes(corrupt);
        Fuzz.Run(seed, valid, bytes =>
        {
            TestDirs.Delete(outDir);
            File.WriteAllBytes(corrupt, bytes);
        }, () =>
        {
            import();
            var folder = DataFolder.Open(outDir);
            var log = folder.LoadLog();
            Assert.That(log.Count, Is.Positive);
            folder.LoadCategories();
            folder.ValidateFeatures();
        }, () => Assert.That(Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName).Where(n => n!.StartsWith("out")), Is.Empty,
            "a refused import leaves no folder and no staging folder"));
    }

    [TestCase("csv", 107)]
    [TestCase("h5", 108)]
    public void KuaiVideo(string corrupt, int seed)
    {
        var (train, test, h5) = ImportFixtures.WriteKuai(_dir);
        FuzzImport(seed, corrupt == "h5" ? h5 : train, () => KuaiVideoImporter.Import(train, test, h5, Path.Combine(_dir, "out")));
    }

    [TestCase("csv", 109)]
    [TestCase("npy", 110)]
    public void Thacil(string corrupt, int seed)
    {
        var (train, test, npy) = ImportFixtures.WriteThacil(_dir);
        FuzzImport(seed, corrupt == "npy" ? npy : train, () => ThacilImporter.Import(train, test, npy, Path.Combine(_dir, "out")));
    }
}

/// <summary>Seeded corruptions and the outcome check shared by the fuzz tests.</summary>
internal static class Fuzz
{
    /// <summary>Bytes that reach deeper than random ones: separators, signs, huge and boundary numbers, control characters.</summary>
    private static readonly byte[][] Tokens =
    [
        [0], [(byte)'\n'], [(byte)'\r'], [(byte)','], [(byte)'-'], [0x1B, (byte)'['], [0xFF, 0xFE],
        .. new[] { "9999999999", "2147483647", "100000000", "1e38", "NaN", "0", "1", "train", "test", "'shape': (", "<f8" }
            .Select(Encoding.ASCII.GetBytes),
    ];

    /// <summary><paramref name="bytes"/> through <paramref name="f"/> when their length is even: about half the cases, the same ones every run.</summary>
    public static byte[] Sometimes(byte[] bytes, Func<byte[], byte[]> f) => bytes.Length % 2 == 0 ? f(bytes) : bytes;

    /// <summary>One corruption of <paramref name="valid"/>: a byte flip, a truncation or an insertion.</summary>
    public static byte[] Corrupt(byte[] valid, Random rng)
    {
        var b = valid.ToList();
        switch (rng.Next(3))
        {
            case 0:
                for (int k = rng.Next(1, 4); k > 0 && b.Count > 0; k--)
                {
                    int at = rng.Next(b.Count);
                    b[at] = rng.Next(2) == 0 ? (byte)(b[at] ^ (1 << rng.Next(8))) : (byte)rng.Next(256);
                }
                break;
            case 1:
                b = b.Take(rng.Next(b.Count)).ToList();
                break;
            default:
                byte[] insert = rng.Next(2) == 0 ? Tokens[rng.Next(Tokens.Length)] : [.. Enumerable.Range(0, rng.Next(1, 17)).Select(_ => (byte)rng.Next(256))];
                b.InsertRange(rng.Next(b.Count + 1), insert);
                break;
        }
        return [.. b];
    }

    /// <summary>
    /// Runs <paramref name="cases"/> corruptions: <paramref name="write"/> puts one on disk, <paramref name="read"/>
    /// reads it and checks a success; on a refusal <paramref name="nothingLeft"/> checks the disk. Fails listing every hole.
    /// </summary>
    public static void Run(int seed, byte[] valid, Action<byte[]> write, Action read, Action nothingLeft, int cases = 200)
    {
        var rng = new Random(seed);
        var holes = new List<string>();
        int refused = 0, succeeded = 0;
        for (int i = 0; i < cases; i++)
        {
            var bytes = Corrupt(valid, rng);
            write(bytes);
            Exception? error = null;
            var task = Task.Run(() =>
            {
                try { read(); }
                catch (Exception e) { error = e; }
            });
            if (!task.Wait(TimeSpan.FromSeconds(20)))
            {
                holes.Add($"case {i}: hang (no answer in 20 s)");
                break;
            }
            if (error is null) { succeeded++; continue; }
            if (error is DataFormatException or UsageException)
            {
                refused++;
                string m = error.Message;
                if (m.Contains('\n') || m.Any(char.IsControl) || m.Length > 600)
                    holes.Add($"case {i}: not one short printable line: {Printable.Quote(m, 300)}");
                try { nothingLeft(); }
                catch (AssertionException e) { holes.Add($"case {i}: {error.Message}: left output: {e.Message}"); }
            }
            else holes.Add($"case {i}: {error.GetType().Name}: {Printable.Quote(error.Message, 200)} at {error.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
        }
        TestContext.Out.WriteLine($"{succeeded} read, {refused} refused, {holes.Count} mishandled");
        Assert.That(holes, Is.Empty, $"{holes.Count} of {cases} corruptions were mishandled");
        Assert.That(refused, Is.Positive, "the corruptions reached the reader's checks");
    }
}
