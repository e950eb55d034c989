using Alpine.Data;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Tests.Cli;

/// <summary>One writer per run folder and data folder (an OS lock the kernel drops on kill -9), and the sweep of dead writers' temp files.</summary>
[TestFixture]
public class LockTests
{
    private string _dir = "", _data = "";
    private string RunDir => Path.Combine(_dir, "run");

    [SetUp]
    public void SetUp()
    {
        _dir = TestDirs.Create();
        _data = TrainCommandTests.WriteData(Path.Combine(_dir, "data"), seed: 21);
    }

    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private static (int Code, string Err) Cli(params string[] args) => TrainCommandTests.Cli(args);

    [Test]
    public void ASecondWriterOfARunFolderIsOneLineNamingTheHolder()
    {
        // Once: two `alpine train --out both` at once both exited 0 and one model was silently lost.
        // A second handle on the lock file in this process meets the same OS lock another process would.
        using (FolderLock.Acquire(RunDir, "run folder"))
        {
            var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "32");
            Assert.That(code, Is.EqualTo(2));
            Assert.That(err.TrimEnd(), Does.StartWith($"alpine train: run folder {RunDir} is being written by process {Environment.ProcessId}").And.Not.Contain("\n"));
            Assert.That(Directory.Exists(RunDir), Is.False, "nothing written");
        }
        Assert.That(Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "32").Code, Is.Zero, "released");
        Assert.That(File.Exists(FolderLock.LockPathOf(RunDir)), Is.False, "the lock file goes with the writer");

        using (FolderLock.Acquire(RunDir, "run folder"))
        {
            var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2");
            Assert.That((code, err.Contains($"process {Environment.ProcessId}")), Is.EqualTo((2, true)), err);
        }
    }

    [Test]
    public void ADataFolderBeingWrittenIsRefusedToPrepareAndGenerate()
    {
        using (FolderLock.Acquire(_data, "data folder"))
        {
            foreach (var args in new[] { new[] { "prepare", "--data", _data }, new[] { "generate", "--preset", "tiny", "--out", _data, "--force" } })
            {
                var (code, err) = Cli(args);
                Assert.That(code, Is.EqualTo(2), args[0]);
                Assert.That(err.TrimEnd(), Does.Contain($"data folder {_data} is being written by process {Environment.ProcessId}").And.Not.Contain("\n"), args[0]);
            }
        }
        Assert.That(Cli("prepare", "--data", _data).Code, Is.Zero);
    }

    [Test]
    public void ASecondTrainingProcessIsRefusedAndKillNineReleasesTheLockAndItsLeftoversAreSwept()
    {
        var (first, _, firstErr) = SignalTests.StartTraining(_data, RunDir);
        try
        {
            var (code, _, err) = AlpineProcess.Run(["train", "--data", _data, "--out", RunDir, "--force", "--epochs", "1"]);
            Assert.That(code, Is.EqualTo(2), err);
            Assert.That(err.TrimEnd(), Does.Contain($"is being written by process {first.Id}").And.Not.Contain("\n"));
        }
        finally
        {
            Assert.That(Posix.Kill(first.Id, Posix.SigKill), Is.Zero);
            first.WaitForExit();
        }
        // kill -9 left its lock file and, before its first checkpoint, its staging folder (W4: once kept forever).
        string[] left = Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).ToArray()!;
        Assert.That(left, Does.Contain(".run.lock"), firstErr.ToString());
        Assert.That(left.Any(n => n.StartsWith("run.tmp-") || n == "run"), Is.True);

        var (again, _, againErr) = AlpineProcess.Run(["train", "--data", _data, "--out", RunDir, "--force", "--epochs", "1", "--batch", "32"]);
        Assert.That(again, Is.Zero, againErr);
        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "data", "run" }), "no lock file, no staging folder");
    }

    [Test]
    public void StaleTempFilesAreSweptOnlyByTheLocksHolder()
    {
        string staleStaging = Path.Combine(_dir, $"data.tmp-{Guid.NewGuid():N}");
        string staleCache = Path.Combine(_data, $".{PreparedData.CacheFile}.{Guid.NewGuid():N}.tmp");
        string staleModel = Path.Combine(_dir, "run", $".{RunFolder.ModelFileName}.{Guid.NewGuid():N}.tmp");
        string mine = Path.Combine(_dir, "data.tmp-notaguid");
        Directory.CreateDirectory(mine);

        using (FolderLock.Acquire(_data, "data folder"))
        {
            // This holder's own temp files, as a live prepare or generate has them.
            Directory.CreateDirectory(staleStaging);
            File.WriteAllText(Path.Combine(staleStaging, "interactions.csv"), "x");
            File.WriteAllText(staleCache, "partial");
            Assert.That(Cli("prepare", "--data", _data).Code, Is.EqualTo(2));
            Assert.That((Directory.Exists(staleStaging), File.Exists(staleCache)), Is.EqualTo((true, true)), "a live writer's files are left alone");
        }
        Assert.That(Cli("prepare", "--data", _data).Code, Is.Zero);
        Assert.That((Directory.Exists(staleStaging), File.Exists(staleCache)), Is.EqualTo((false, false)), "swept at the next start");
        Assert.That(Directory.Exists(mine), Is.True, "only names a writer makes");

        Assert.That(Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "32").Code, Is.Zero);
        File.WriteAllText(staleModel, "partial");
        Assert.That(Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "1").Code, Is.Zero);
        Assert.That(File.Exists(staleModel), Is.False);
    }
}
