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

    /// <summary>A version-1 .npy of 2×3 float32 zeros whose header dictionary is <paramref name="dict"/>.</summary>
    private string WriteWithHeader(string dict, byte version = 1, int dataBytes = 24)
    {
        string path = Path.Combine(_dir, "h.npy");
        string header = dict + new string(' ', (64 - (10 + dict.Length + 1) % 64) % 64) + "\n";
        using var fs = File.Create(path);
        fs.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', version, 0]);
        fs.Write(BitConverter.GetBytes((ushort)header.Length));
        fs.Write(System.Text.Encoding.Latin1.GetBytes(header));
        fs.Write(new byte[dataBytes]);
        return path;
    }

    [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", "element type '<f8' is not supported; expected float32")]
    [TestCase("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "Fortran-ordered .npy is not supported")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", "shape (6,) is not supported; expected a 2-d matrix")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", "shape (2, 0) is not supported")]
    [TestCase("{'fortran_order': False, 'shape': (2, 3), }", "the .npy header has no 'descr'")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, }", "the .npy header has no 'shape'")]
    [TestCase("{'descr': '<f4\u0007\u001b[2J', 'shape': (2, 3), }", "element type '<f4\\x07\\x1B[2J' is not supported")]
    public void RefusesAHeaderItCannotReadNamingWhy(string dict, string mention)
    {
        string path = WriteWithHeader(dict);
        var e = Assert.Throws<DataFormatException>(() => NpyFile.OpenRead(path).Dispose())!;
        Assert.That(e.Message, Does.StartWith(path + ": ").And.Contain(mention).And.Not.Contain("\n"));
        Assert.That(e.Message.Any(char.IsControl), Is.False);
    }

    [Test]
    public void RefusesAnUnknownVersionAndAMissingMagic()
    {
        string path = WriteWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", version: 9);
        Assert.That(Assert.Throws<DataFormatException>(() => NpyFile.OpenRead(path).Dispose())!.Message, Does.Contain("version 9 is not supported"));
        File.WriteAllText(path, "user_id,item_id\n1,2\n");
        Assert.That(Assert.Throws<DataFormatException>(() => NpyFile.OpenRead(path).Dispose())!.Message, Does.Contain("not a NumPy .npy file"));
    }

    [TestCase(3.4e38f, 0, 2, "row 5 (0-based) column 2 holds 3.4E+38")]
    [TestCase(1e30f, -1, 0, "row 5 (0-based) column 0 holds 1E+30")]
    [TestCase(float.NaN, 0, 1, "row 5 (0-based) column 1 holds NaN; expected finite")]
    public void FeatureCheckNamesTheRowAndColumnOfAnUnusableValue(float value, int wholeRow, int column, string mention)
    {
        var rows = new float[8 * 3];
        for (int i = 0; i < rows.Length; i++) rows[i] = i % 7 - 3;
        for (int c = 0; c < 3; c++) if (wholeRow < 0 || c == column) rows[3 * 3 + c] = value;
        Assert.That(FeatureCheck.Problem(rows, 3, firstRow: 2), Does.StartWith(mention));
    }

    [Test]
    public void FeatureCheckDrawsTheLineAtARowNormOf2To60()
    {
        float justBelow = (float)(FeatureCheck.MaxRowNorm / 2 * 0.999), justAbove = (float)(FeatureCheck.MaxRowNorm / 2 * 1.001);
        // Four equal cells: the norm is twice one cell; each cell alone is far below the limit.
        Assert.That(FeatureCheck.Problem([justBelow, justBelow, justBelow, justBelow], 4, 0), Is.Null);
        Assert.That(FeatureCheck.Problem([justAbove, -justAbove, justAbove, justAbove], 4, 0), Does.Contain("2^60"));
        Assert.That(FeatureCheck.Problem([1, 2, 3, 4, -justBelow * 2, 0, 0, 0], 4, 0), Is.Null, "one cell at the limit in a row of zeros");
    }
}
