using Alpine.Data;

namespace Alpine.Tests.Data;

[TestFixture]
public class AtomicFileTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    [Test]
    public void AWriteThatFailsLeavesTheOldFileAndNoTempFile()
    {
        string path = Path.Combine(_dir, "model.alp");
        AtomicFile.WriteAllText(path, "old");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("new, half written"u8);
            throw new IOException("disk full");
        }));
        Assert.That(File.ReadAllText(path), Is.EqualTo("old"));
        Assert.That(Directory.GetFiles(_dir), Is.EquivalentTo(new[] { path }), "no temp file left");
    }

    [Test]
    public void AStreamedWriteReplacesTheFileWhole()
    {
        string path = Path.Combine(_dir, "cache.bin");
        AtomicFile.WriteAllText(path, "old content that is longer");
        AtomicFile.Write(path, s => { s.Write([1, 2]); s.Write([3]); });
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void ADiskFullErrorNamesTheTargetNotTheTempFile()
    {
        // The runtime names the file it was writing, here the temp file: the user only knows the target.
        string path = Path.Combine(_dir, "prepared.alpc");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
            throw new IOException($"No space left on device : '{((FileStream)s).Name}'")))!;
        Assert.That(e.Message, Is.EqualTo($"No space left on device : '{path}'"));
        Assert.That(Directory.GetFiles(_dir), Is.Empty, "no temp file left");
    }

    [Test]
    public void ADiskFullErrorInAFolderWriteNamesOutNotTheStagingFolder()
    {
        string dir = Path.Combine(_dir, "data");
        var e = Assert.Throws<IOException>(() => DataFolder.WriteAtomically(dir, false, tmp =>
            throw new IOException($"No space left on device : '{Path.Combine(tmp, NativeFormat.ItemsFile)}'")))!;
        Assert.That(e.Message, Is.EqualTo($"No space left on device : '{Path.Combine(dir, NativeFormat.ItemsFile)}'"));
        Assert.That(Directory.EnumerateFileSystemEntries(_dir), Is.Empty, "no staging folder left");
    }
}
