using Alpine.Data;
using Alpine.Model;
using PureHDF;
using static Alpine.Tests.Data.ImportFixtures;

namespace Alpine.Tests.Data;

[TestFixture]
public class KuaiVideoImporterTests
{
    private string _dir = "";
    private string Out => Path.Combine(_dir, "out");

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private const string Header = "timestamp,user_id,item_id,is_click,is_like,is_follow,pos_items,neg_items\n";

    /// <summary>The import fails naming <paramref name="file"/> (and <paramref name="line"/> when > 0), and leaves no folder.</summary>
    private void Fails(Func<(string Train, string Test, string H5), string> file, long line, string mention,
        string? train = null, string? test = null, Func<int, int, float>? value = null, Action<string>? damage = null)
    {
        var src = WriteKuai(_dir, train, test, value);
        damage?.Invoke(src.H5);
        string f = file(src);
        var e = Assert.Throws<DataFormatException>(() => KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out))!;
        Assert.That(e.Message, Does.StartWith(line > 0 ? $"{f}:{line}: " : $"{f}: "));
        Assert.That(e.Message, Does.Contain(mention));
        Assert.That(e.Message, Does.Not.Contain("\n"));
        Assert.That(Directory.GetDirectories(_dir), Is.Empty, "no output or temporary folder is left");
    }

    [Test]
    public void ImportsSparseKeysIntoADenseNativeFolder()
    {
        var src = WriteKuai(_dir);
        var s = KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out);

        // Users by ascending raw id: 3 → 0, 55 → 1. Items in 'key' row order among the referenced ones
        // (13 is never shown, so dropped): 105 → 0, 7 → 1, 42 → 2, 900 → 3.
        Assert.That(s, Is.EqualTo(new ImportSummary(2, 4, 0, 5, 64)));
        var folder = DataFolder.Open(Out);
        Assert.That((folder.Profile, folder.ItemCount, folder.FeatureDim), Is.EqualTo((Profile.Kuaishou, 4, 64)));
        var log = folder.LoadLog();
        Assert.That(Rows(log), Is.EqualTo(new[]
        {
            (1, 2, 100L, true, true, false, SplitPart.Train),
            (1, 1, 101L, false, false, false, SplitPart.Train),
            (0, 3, 102L, true, false, true, SplitPart.Train),
            (0, 0, 200L, false, false, false, SplitPart.Test),
            (1, 2, 201L, true, false, false, SplitPart.Test),
        }));
        int[] sourceRow = [0, 1, 3, 4];
        var features = ReadAll(folder.ItemsPath);
        for (int i = 0; i < 4; i++)
            for (int c = 0; c < KuaiDim; c++)
                Assert.That(features[i * KuaiDim + c], Is.EqualTo(KuaiValue(sourceRow[i], c)), $"item {i} column {c}");
        Assert.That(Directory.GetDirectories(_dir), Is.EqualTo(new[] { Out }), "no temporary folder is left");
    }

    [Test]
    public void ReadsInt32KeysAndFloat64Values()
    {
        var v = new double[2, 3] { { 1, 2, 3 }, { 4, 5, 6 } };
        var src = WriteKuaiRaw(_dir, Header + "1,8,20,1,0,0,,\n", Header + "2,8,10,0,0,0,,\n",
            new H5File { ["key"] = new int[] { 10, 20 }, ["value"] = v });
        KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out);
        Assert.That(ReadAll(Path.Combine(Out, NativeFormat.ItemsFile)), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(Rows(NativeFormat.ReadInteractions(Path.Combine(Out, NativeFormat.InteractionsFile))), Is.EqualTo(new[]
        {
            (0, 1, 1L, true, false, false, SplitPart.Train),
            (0, 0, 2L, false, false, false, SplitPart.Test),
        }));
    }

    [Test]
    public void StreamsFeaturesAcrossChunks()
    {
        // 20000 'value' rows span three 8192-row slabs; keys are row * 3 + 1 (sparse).
        const int n = 20000;
        var v = new float[n, 2];
        for (int r = 0; r < n; r++) { v[r, 0] = r; v[r, 1] = -r; }
        int[] used = [19999, 8191, 3, 16390];
        string csv = Header + string.Concat(used.Select((row, i) => $"{i},7,{row * 3L + 1},0,0,0,,\n"));
        var src = WriteKuaiRaw(_dir, csv, Header, new H5File { ["key"] = Enumerable.Range(0, n).Select(r => r * 3L + 1).ToArray(), ["value"] = v });
        KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out);
        Assert.That(ReadAll(Path.Combine(Out, NativeFormat.ItemsFile)),
            Is.EqualTo(used.Order().SelectMany(r => new float[] { r, -r })));
        Assert.That(NativeFormat.ReadInteractions(Path.Combine(Out, NativeFormat.InteractionsFile)).Items.ToArray(), Is.EqualTo(new[] { 3, 1, 0, 2 }));
    }

    [Test] public void WrongHeader() => Fails(s => s.Train, 1, "expected 'timestamp,user_id,item_id,is_click",
        train: "timestamp,user_id,item_id,is_click,is_like,is_follow\n100,55,42,1,1,0\n");

    [Test] public void EmptyCsv() => Fails(s => s.Test, 0, "the file is empty", test: "");

    [Test] public void WrongColumnCount() => Fails(s => s.Train, 3, "7 columns; expected 8",
        train: Header + "100,55,42,1,1,0,,\n101,55,7,0,0,0,\n");

    [Test] public void NonNumericField() => Fails(s => s.Test, 2, "user_id 'u55' is not a whole number",
        test: Header + "200,u55,42,1,0,0,,\n");

    [Test] public void NegativeId() => Fails(s => s.Train, 2, "item_id '-42' is negative", train: Header + "100,55,-42,1,0,0,,\n");

    [Test] public void OverflowingId() => Fails(s => s.Train, 2, "user_id '99999999999999999999' overflows",
        train: Header + "100,99999999999999999999,42,1,0,0,,\n");

    [Test] public void ItemMissingFromKey() => Fails(s => s.Test, 3, "item_id 8 is not in the 'key' dataset",
        test: Header + "200,3,105,0,0,0,,\n201,3,8,0,0,0,,\n");

    [Test] public void LikeOnNotClicked() => Fails(s => s.Train, 2, "like = 1 on a not-clicked impression",
        train: Header + "100,55,42,0,1,0,,\n");

    [Test] public void FollowOnNotClicked() => Fails(s => s.Train, 2, "follow = 1 on a not-clicked impression",
        train: Header + "100,55,42,0,0,1,,\n");

    [Test] public void NaNInFeatures() => Fails(s => s.H5, 0, "row 3 (0-based) column 5 holds NaN",
        value: (r, c) => r == 3 && c == 5 ? float.NaN : 1f);

    [Test] public void InfinityInFeatures() => Fails(s => s.H5, 0, "row 0 (0-based) column 63 holds Infinity",
        value: (r, c) => r == 0 && c == 63 ? float.PositiveInfinity : 1f);

    [TestCase(0.5)]
    [TestCase(0.999)] // PureHDF alone reads a file cut by a few bytes without complaint
    public void TruncatedH5(double keep) => Fails(s => s.H5, 0, "truncated",
        damage: h5 => Truncate(h5, (long)(new FileInfo(h5).Length * keep)));

    [Test] public void NotAnH5File() => Fails(s => s.H5, 0, "not an HDF5 file", damage: h5 => File.WriteAllText(h5, "key,value\n"));

    [Test] public void EmptyH5() => Fails(s => s.H5, 0, "empty", damage: h5 => File.WriteAllBytes(h5, []));

    [Test]
    public void KeyAndValueShapesDisagree()
    {
        var src = WriteKuaiRaw(_dir, KuaiTrain, KuaiTest, new H5File { ["key"] = KuaiKeys, ["value"] = new float[4, 64] });
        var e = Assert.Throws<DataFormatException>(() => KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out))!;
        Assert.That(e.Message, Does.StartWith(src.H5 + ": 'value' has 4 rows but 'key' has 5 ids"));
        Assert.That(Directory.GetDirectories(_dir), Is.Empty);
    }

    [Test]
    public void MissingDataset()
    {
        var src = WriteKuaiRaw(_dir, KuaiTrain, KuaiTest, new H5File { ["keys"] = KuaiKeys, ["value"] = new float[5, 64] });
        var e = Assert.Throws<DataFormatException>(() => KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out))!;
        Assert.That(e.Message, Does.StartWith(src.H5 + ": no dataset 'key'"));
    }

    [Test]
    public void DuplicateKey()
    {
        var src = WriteKuai(_dir, keys: [105, 7, 13, 7, 900]);
        var e = Assert.Throws<DataFormatException>(() => KuaiVideoImporter.Import(src.Train, src.Test, src.H5, Out))!;
        Assert.That(e.Message, Does.StartWith(src.H5 + ": item id 7 appears twice in 'key' (rows 1 and 3)"));
    }
}
