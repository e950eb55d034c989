using Alpine.Data;
using Alpine.Model;

namespace Alpine.Tests.Data;

[TestFixture]
public class DataFolderTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    /// <summary>A native folder with 4 items of 3 features and the interactions given.</summary>
    private string Folder(string interactions, Func<int, int, float>? features = null, string? categories = null)
    {
        string d = Path.Combine(_dir, "data");
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, NativeFormat.InteractionsFile), interactions);
        ImportFixtures.WriteNpy(Path.Combine(d, NativeFormat.ItemsFile), 4, 3, features ?? ((r, c) => r + c));
        if (categories is not null) File.WriteAllText(Path.Combine(d, NativeFormat.CategoriesFile), categories);
        return d;
    }

    private const string Log = "user_id,item_id,timestamp,click,like,follow\n0,3,5,1,0,0\n1,0,6,0,0,0\n";

    [Test]
    public void OpensAKuaishouFolder()
    {
        var f = DataFolder.Open(Folder(Log));
        Assert.That((f.ItemCount, f.FeatureDim, f.Profile, f.CategoriesPath), Is.EqualTo((4, 3, Profile.Kuaishou, (string?)null)));
        Assert.That(f.LoadLog().Count, Is.EqualTo(2));
        Assert.That(f.LoadCategories(), Is.Null);
        Assert.DoesNotThrow(() => f.ValidateFeatures(chunkRows: 3));
    }

    [Test]
    public void OpensAThacilFolder()
    {
        var f = DataFolder.Open(Folder(Log, categories: "item_id,category_id\n0,0\n1,1\n2,0\n3,2\n"));
        Assert.That(f.Profile, Is.EqualTo(Profile.Thacil));
        Assert.That(f.LoadCategories(), Is.EqualTo(new[] { 0, 1, 0, 2 }));
    }

    [Test]
    public void MissingFolder()
    {
        string d = Path.Combine(_dir, "nope");
        var e = Assert.Throws<DataFormatException>(() => DataFolder.Open(d))!;
        Assert.That(e.Message, Does.StartWith(d).And.Contain("no such data folder"));
    }

    [TestCase(NativeFormat.InteractionsFile)]
    [TestCase(NativeFormat.ItemsFile)]
    public void MissingFileIsNamed(string file)
    {
        string d = Folder(Log);
        File.Delete(Path.Combine(d, file));
        var e = Assert.Throws<DataFormatException>(() => DataFolder.Open(d))!;
        Assert.That(e.Message, Does.StartWith(Path.Combine(d, file) + ": missing"));
    }

    [Test]
    public void ItemIdBeyondTheFeatureRows()
    {
        var f = DataFolder.Open(Folder("user_id,item_id,timestamp,click,like,follow\n0,3,5,1,0,0\n0,4,6,1,0,0\n"));
        var e = Assert.Throws<DataFormatException>(() => f.LoadLog())!;
        Assert.That(e.Message, Does.StartWith($"{f.InteractionsPath}:3: item_id 4 is beyond the feature rows; expected < 4"));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    public void NonFiniteFeatures(float bad)
    {
        var f = DataFolder.Open(Folder(Log, (r, c) => r == 2 && c == 1 ? bad : 1f));
        var e = Assert.Throws<DataFormatException>(() => f.ValidateFeatures(chunkRows: 3))!;
        Assert.That(e.Message, Does.StartWith(f.ItemsPath).And.Contain("row 2 (0-based) column 1").And.Contain("expected finite"));
    }

    [Test]
    public void TruncatedNpy()
    {
        string d = Folder(Log);
        string npy = Path.Combine(d, NativeFormat.ItemsFile);
        ImportFixtures.Truncate(npy, new FileInfo(npy).Length - 5);
        var e = Assert.Throws<DataFormatException>(() => DataFolder.Open(d))!;
        Assert.That(e.Message, Does.StartWith(npy).And.Contain("truncated").And.Contain("(4, 3)"));
    }

    [Test]
    public void NpyShapeDisagreesWithItsHeader()
    {
        string d = Folder(Log);
        string npy = Path.Combine(d, NativeFormat.ItemsFile);
        using (var fs = new FileStream(npy, FileMode.Append)) fs.Write(new byte[12]); // a 5th row the header does not declare
        var e = Assert.Throws<DataFormatException>(() => DataFolder.Open(d))!;
        Assert.That(e.Message, Does.StartWith(npy).And.Contain("12 bytes more than its header's shape (4, 3)"));
    }

    [Test]
    public void EmptyNpy()
    {
        string d = Folder(Log);
        string npy = Path.Combine(d, NativeFormat.ItemsFile);
        File.WriteAllBytes(npy, []);
        var e = Assert.Throws<DataFormatException>(() => DataFolder.Open(d))!;
        Assert.That(e.Message, Does.StartWith(npy).And.Contain("empty"));
    }

    [Test]
    public void WriteAtomicallyLeavesNothingOnFailure()
    {
        string outDir = Path.Combine(_dir, "out");
        Assert.Throws<InvalidOperationException>(() => DataFolder.WriteAtomically(outDir, false, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "half.csv"), "x");
            throw new InvalidOperationException("boom");
        }));
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.Empty);
    }

    [Test]
    public void WriteAtomicallyRefusesAnExistingFolderUnlessOverwriting()
    {
        string outDir = Path.Combine(_dir, "out");
        DataFolder.WriteAtomically(outDir, false, tmp => File.WriteAllText(Path.Combine(tmp, NativeFormat.InteractionsFile), "1"));
        var e = Assert.Throws<UsageException>(() => DataFolder.WriteAtomically(outDir, false, _ => { }))!;
        Assert.That(e.Message, Does.Contain("already exists").And.Contain("--force"));
        string empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        DataFolder.WriteAtomically(empty, false, tmp => File.WriteAllText(Path.Combine(tmp, "c"), "3"));
        Assert.That(Directory.GetFiles(empty).Select(Path.GetFileName), Is.EqualTo(new[] { "c" }), "an empty folder is filled");
        Directory.Delete(empty, recursive: true);
        DataFolder.WriteAtomically(outDir, true, tmp => File.WriteAllText(Path.Combine(tmp, "b"), "2"));
        Assert.That(Directory.GetFiles(outDir).Select(Path.GetFileName), Is.EqualTo(new[] { "b" }));
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.EqualTo(new[] { outDir }));
    }

    [Test]
    public void ForceReplacesOnlyADataFolder()
    {
        // A data folder (with its prepared cache and a crashed cache write's temp file) is replaced ...
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        foreach (string f in new[] { NativeFormat.InteractionsFile, NativeFormat.ItemsFile, NativeFormat.PreparedCacheFile, ".prepared.alpc.0123abcd.tmp" })
            File.WriteAllText(Path.Combine(data, f), "old");
        DataFolder.WriteAtomically(data, true, tmp => File.WriteAllText(Path.Combine(tmp, NativeFormat.InteractionsFile), "new"));
        Assert.That(Directory.GetFiles(data).Select(Path.GetFileName), Is.EqualTo(new[] { NativeFormat.InteractionsFile }));

        // ... any other folder is refused with --force too (e.g. --out . or a folder holding a run), and left as it was.
        foreach (string foreign in new[] { "notes.txt", "run" })
        {
            string dir = Path.Combine(_dir, "mixed-" + foreign);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, NativeFormat.InteractionsFile), "old");
            if (foreign == "run") Directory.CreateDirectory(Path.Combine(dir, foreign)); else File.WriteAllText(Path.Combine(dir, foreign), "mine");
            var e = Assert.Throws<UsageException>(() => DataFolder.WriteAtomically(dir, true, _ => Assert.Fail("nothing is written")))!;
            Assert.That(e.Message, Does.Contain("not a data folder").And.Contain($"'{foreign}'").And.Not.Contain("\n"));
            Assert.That(Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { NativeFormat.InteractionsFile, foreign }.Order()));
        }
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "data", "mixed-notes.txt", "mixed-run" }), "no temp folder left");
    }
}
