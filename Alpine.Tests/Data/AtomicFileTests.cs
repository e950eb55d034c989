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
    public void AFailedWriteNamesTheUsersPathNeverTheTempFile()
    {
        // The runtime names .model.alp.<guid>.tmp, a file the user never asked for.
        string path = Path.Combine(_dir, "model.alp");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
            throw new IOException($"No space left on device : '{((FileStream)s).Name}'")))!;
        Assert.That(e.Message, Is.EqualTo($"cannot write {path}: No space left on device"));

        // A real refusal from the OS: a folder where the file should go.
        string folder = Path.Combine(_dir, "metrics.json");
        Directory.CreateDirectory(folder);
        e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(folder, "{}"))!;
        Assert.That(e.Message, Does.StartWith($"cannot write {folder}: ").And.Not.Contain(".tmp"));
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.EqualTo(new[] { folder }), "no temp file left");
    }

    [Test]
    public void RequireWritableRefusesAFolderNoFileCanBeCreatedIn()
    {
        // /proc refuses new files even to root, as a read-only mount or a folder without permission does.
        var e = Assert.Throws<UsageException>(() => AtomicFile.RequireWritable("/proc"))!;
        Assert.That(e.Message, Does.StartWith("cannot write to /proc: ").And.Not.Contain(".tmp"));
        AtomicFile.RequireWritable(_dir);
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.Empty, "the probe is gone");
        AtomicFile.RequireWritable(Path.Combine(_dir, "not-yet"));
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
