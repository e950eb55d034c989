using Alpine.Data;
using Alpine.Train;

namespace Alpine.Tests.Train;

[TestFixture]
public class RunFolderTests
{
    private string _dir = "", _run = "";

    [SetUp] public void SetUp() { _dir = TestDirs.Create(); _run = Path.Combine(_dir, "run"); }
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    [Test]
    public void TheRunFilesAndTheirTempFilesAreRunEntries()
    {
        Assert.That(RunFolder.Files, Is.EquivalentTo(new[] { "model.alp", "checkpoint.alp", "train_log.csv", "metrics.json", "metrics_test.json", "curves.png" }));
        Assert.That(RunFolder.IsRunEntry(RunFolder.CurvesFileName), Is.True);
        Assert.That(RunFolder.IsRunEntry($".{RunFolder.ModelFileName}.{Guid.NewGuid():N}.tmp"), Is.True, "an atomic write's temp file");
        Assert.That(RunFolder.IsRunEntry("notes.txt"), Is.False);
    }

    [Test]
    public void AFolderOfRunFilesIsReplaceableOnlyWithForce()
    {
        RunFolder.RequireReplaceable(_run, force: false); // none yet
        Directory.CreateDirectory(_run);
        RunFolder.RequireReplaceable(_run, force: false); // empty
        foreach (var f in RunFolder.Files) File.WriteAllText(Path.Combine(_run, f), f);
        var e = Assert.Throws<UsageException>(() => RunFolder.RequireReplaceable(_run, force: false))!;
        Assert.That(e.Message, Does.Contain("--resume").And.Contain("--force"));
        RunFolder.RequireReplaceable(_run, force: true);
        File.WriteAllText(Path.Combine(_run, "notes.txt"), "mine");
        e = Assert.Throws<UsageException>(() => RunFolder.RequireReplaceable(_run, force: true))!;
        Assert.That(e.Message, Does.Contain("is not a run folder (it holds 'notes.txt')"));
    }

    [Test]
    public void AFileIsNeverReplaceable()
    {
        File.WriteAllText(_run, "x");
        Assert.That(Assert.Throws<UsageException>(() => RunFolder.RequireReplaceable(_run, force: true))!.Message, Does.Contain("is a file"));
    }

    [Test]
    public void AStagedRunReplacesTheOldOneOnlyWhenPublished()
    {
        Directory.CreateDirectory(_run);
        File.WriteAllText(Path.Combine(_run, RunFolder.ModelFileName), "old");
        using (var run = RunFolder.ForFreshRun(_run, force: true))
        {
            run.Stage();
            Assert.That(run.IsStaged && run.Dir != _run && Directory.Exists(run.Dir), "a new folder");
            Assert.That(run.WouldLosePrevious, Is.True, "no model yet, an old run at the target");
            File.WriteAllText(run.ModelPath, "new");
            Assert.That(run.WouldLosePrevious, Is.False);
            Assert.That(File.ReadAllText(Path.Combine(_run, RunFolder.ModelFileName)), Is.EqualTo("old"), "kept until published");
            run.Publish();
            Assert.That(run.IsStaged, Is.False);
            Assert.That(run.ModelPath, Is.EqualTo(Path.Combine(_run, RunFolder.ModelFileName)));
        }
        Assert.That(File.ReadAllText(Path.Combine(_run, RunFolder.ModelFileName)), Is.EqualTo("new"));
        Assert.That(Directory.GetDirectories(_dir), Is.EqualTo(new[] { _run }), "no staging or old folder left");
    }

    [Test]
    public void AnUnpublishedStagingFolderIsRemovedAndTheOldRunKept()
    {
        Directory.CreateDirectory(_run);
        File.WriteAllText(Path.Combine(_run, RunFolder.ModelFileName), "old");
        string staging;
        using (var run = RunFolder.ForFreshRun(_run, force: true))
        {
            run.Stage();
            staging = run.Dir;
            File.WriteAllText(run.CheckpointPath, "partial");
        }
        Assert.That(Directory.Exists(staging), Is.False);
        Assert.That(Directory.GetFiles(_run).Select(Path.GetFileName), Is.EquivalentTo(new[] { RunFolder.ModelFileName }));
    }

    [Test]
    public void ResumeNeedsACheckpointAndWritesInPlace()
    {
        Directory.CreateDirectory(_run);
        var e = Assert.Throws<UsageException>(() => RunFolder.ForResume(_run))!;
        Assert.That(e.Message, Is.EqualTo($"--resume needs {Path.Combine(_run, RunFolder.CheckpointFileName)}, which does not exist"));
        File.WriteAllText(Path.Combine(_run, RunFolder.CheckpointFileName), "ck");
        using var run = RunFolder.ForResume(_run);
        Assert.That(run.IsStaged || run.WouldLosePrevious, Is.False);
        Assert.That(run.Dir, Is.EqualTo(_run));
        run.Publish(); // nothing to move
        Assert.That(File.ReadAllText(run.CheckpointPath), Is.EqualTo("ck"));
    }
}
