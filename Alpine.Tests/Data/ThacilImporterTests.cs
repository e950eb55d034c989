using Alpine.Data;
using Alpine.Model;
using static Alpine.Tests.Data.ImportFixtures;

namespace Alpine.Tests.Data;

[TestFixture]
public class ThacilImporterTests
{
    private string _dir = "";
    private string Out => Path.Combine(_dir, "out");

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private const string Header = "user_id,item_id,cate_id,is_click,timestamp\n";

    private void Fails(Func<(string Train, string Test, string Npy), string> file, long line, string mention,
        string? train = null, string? test = null, Func<int, int, float>? value = null, Action<string>? damage = null)
    {
        var src = WriteThacil(_dir, train, test, value);
        damage?.Invoke(src.Npy);
        string f = file(src);
        var e = Assert.Throws<DataFormatException>(() => ThacilImporter.Import(src.Train, src.Test, src.Npy, Out))!;
        Assert.That(e.Message, Does.StartWith(line > 0 ? $"{f}:{line}: " : $"{f}: "));
        Assert.That(e.Message, Does.Contain(mention));
        Assert.That(Directory.GetDirectories(_dir), Is.Empty, "no output or temporary folder is left");
    }

    [Test]
    public void ImportsWithCategoriesAndSplit()
    {
        var src = WriteThacil(_dir);
        var s = ThacilImporter.Import(src.Train, src.Test, src.Npy, Out);

        // Users 2 → 0, 9 → 1; items used are rows 1, 4, 5 → 0, 1, 2; categories 30 → 0, 70 → 1.
        Assert.That(s, Is.EqualTo(new ImportSummary(2, 3, 2, 4, ThacilDim)));
        var folder = DataFolder.Open(Out);
        Assert.That((folder.Profile, folder.ItemCount, folder.FeatureDim), Is.EqualTo((Profile.Thacil, 3, ThacilDim)));
        Assert.That(Rows(folder.LoadLog()), Is.EqualTo(new[]
        {
            (1, 1, 10L, true, false, false, SplitPart.Train),
            (0, 0, 11L, false, false, false, SplitPart.Train),
            (1, 0, 12L, false, false, false, SplitPart.Train),
            (0, 2, 20L, true, false, false, SplitPart.Test),
        }));
        Assert.That(folder.LoadCategories(), Is.EqualTo(new[] { 0, 1, 1 }));
        int[] sourceRow = [1, 4, 5];
        var features = ReadAll(folder.ItemsPath);
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < ThacilDim; c++)
                Assert.That(features[i * ThacilDim + c], Is.EqualTo(ThacilValue(sourceRow[i], c)));
    }

    [Test]
    public void StreamsFeaturesAcrossChunks()
    {
        // 20000 rows span three 8192-row chunks; the middle one holds no used row and is skipped.
        int[] used = [0, 8191, 16390, 19999];
        string csv = Header + string.Concat(used.Select((item, i) => $"{i},{item},{item % 3},1,{i}\n"));
        var src = WriteThacil(_dir, train: csv, test: Header);
        File.Delete(src.Npy);
        WriteNpy(src.Npy, 20000, 2, (r, c) => r * 2 + c);
        ThacilImporter.Import(src.Train, src.Test, src.Npy, Out);
        Assert.That(ReadAll(Path.Combine(Out, NativeFormat.ItemsFile)),
            Is.EqualTo(used.SelectMany(r => new float[] { r * 2, r * 2 + 1 })));
    }

    [Test] public void WrongHeader() => Fails(s => s.Test, 1, "expected 'user_id,item_id,cate_id,is_click,timestamp'",
        test: "user_id,item_id,is_click,timestamp\n2,5,1,20\n");

    [Test] public void EmptyCsv() => Fails(s => s.Train, 0, "the file is empty", train: "");

    [Test] public void WrongColumnCount() => Fails(s => s.Train, 2, "4 columns; expected 5", train: Header + "9,4,1,10\n");

    [Test] public void NonNumericField() => Fails(s => s.Train, 2, "is_click 'yes' is not 0 or 1", train: Header + "9,4,70,yes,10\n");

    [Test] public void NegativeId() => Fails(s => s.Train, 2, "cate_id '-1' is negative", train: Header + "9,4,-1,1,10\n");

    [Test] public void OverflowingId() => Fails(s => s.Train, 2, "item_id '3000000000' overflows", train: Header + "9,3000000000,1,1,10\n");

    [Test] public void ItemIdBeyondTheFeatureRows() => Fails(s => s.Test, 3, "item_id 6 is beyond the feature rows; expected < 6",
        test: Header + "2,5,70,1,20\n2,6,70,1,21\n");

    [Test] public void TwoCategoriesForOneItem() => Fails(s => s.Test, 2, "item_id 4 has cate_id 31 here but 70",
        test: Header + "2,4,31,1,20\n");

    [Test] public void NaNInFeatures() => Fails(s => s.Npy, 0, "row 4 (0-based) column 7 holds NaN",
        value: (r, c) => r == 4 && c == 7 ? float.NaN : 0f);

    [Test] public void NaNInAnUnusedRowIsHarmless()
    {
        var src = WriteThacil(_dir, value: (r, c) => r == 0 ? float.NaN : 1f);
        Assert.That(ThacilImporter.Import(src.Train, src.Test, src.Npy, Out).Items, Is.EqualTo(3));
    }

    [Test] public void TruncatedNpy() => Fails(s => s.Npy, 0, "truncated", damage: npy => Truncate(npy, new FileInfo(npy).Length - 3));

    [Test] public void NpyShapeDisagreesWithItsHeader() => Fails(s => s.Npy, 0, "bytes more than its header's shape (6, 8)",
        damage: npy => File.AppendAllText(npy, "extra"));

    [Test] public void EmptyNpy() => Fails(s => s.Npy, 0, "empty", damage: npy => File.WriteAllBytes(npy, []));

    [Test] public void NoImpressions() => Fails(s => s.Train, 0, "no impressions", train: Header, test: Header);
}
