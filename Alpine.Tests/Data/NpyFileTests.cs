using Alpine.Data;

namespace Alpine.Tests.Data;

[TestFixture]
public class NpyFileTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    [Test]
    public void RoundTripsRowsInChunks()
    {
        string path = Path.Combine(_dir, "x.npy");
        var data = Enumerable.Range(0, 7 * 5).Select(i => i * 0.5f - 3f).ToArray();
        using (var w = NpyFile.Create(path, 7, 5))
        {
            w.WriteRows(data.AsSpan(0, 15));
            w.WriteRows(data.AsSpan(15));
            w.Complete();
        }
        Assert.That((new FileInfo(path).Length - 7 * 5 * 4) % 64, Is.Zero, "header padded to 64 bytes");
        using var r = NpyFile.OpenRead(path);
        Assert.That((r.Rows, r.Cols), Is.EqualTo((7L, 5)));
        var back = new float[10];
        r.ReadRows(3, back);
        Assert.That(back, Is.EqualTo(data[15..25]));
    }

    [Test]
    public void RefusesTruncatedFileNamingIt()
    {
        string path = Path.Combine(_dir, "t.npy");
        using (var w = NpyFile.Create(path, 4, 3)) { w.WriteRows(new float[12]); w.Complete(); }
        using (var fs = new FileStream(path, FileMode.Open)) fs.SetLength(fs.Length - 4);
        var e = Assert.Throws<DataFormatException>(() => NpyFile.OpenRead(path).Dispose())!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("truncated"));
    }
}
