using System.Text;
using Alpine.Train;

namespace Alpine.Tests.Cli;

/// <summary><c>alpine train</c> in its own process, stopped by real signals.</summary>
[TestFixture]
public class SignalTests
{
    private string _dir = "", _data = "";

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        _dir = TestDirs.Create();
        _data = TrainCommandTests.WriteData(Path.Combine(_dir, "data"), seed: 21);
    }

    [OneTimeTearDown] public void OneTimeTearDown() => TestDirs.Delete(_dir);

    /// <summary>Starts a long training run and returns once it reports its first batches (its signal handlers are wired by then).</summary>
    internal static (System.Diagnostics.Process Process, StringBuilder Out, StringBuilder Err) StartTraining(string data, string run, params string[] extra) =>
        StartTrainingUntil(" batch ", data, run, extra);

    /// <summary>Starts a long training run and returns once its output shows <paramref name="waitFor"/>.</summary>
    internal static (System.Diagnostics.Process Process, StringBuilder Out, StringBuilder Err) StartTrainingUntil(string waitFor, string data, string run, params string[] extra)
    {
        string[] batch = extra.Contains("--batch") ? [] : ["--batch", "16"];
        var p = AlpineProcess.Start(["train", "--data", data, "--out", run, "--epochs", "100000", "--patience", "100000", "--device", "cpu", .. batch, .. extra]);
        var (stdout, stderr) = (new StringBuilder(), new StringBuilder());
        p.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            lock (stdout) if (stdout.ToString().Contains(waitFor)) break;
            Assert.That(p.HasExited, Is.False, $"training ended early: {stderr}");
            Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(60), "no progress line");
            Thread.Sleep(20);
        }
        return (p, stdout, stderr);
    }

    [Test]
    public void SigtermCheckpointsPrintsTheResumeHintAndExits143()
    {
        // Once: SIGTERM killed the run at once (exit 143) without a checkpoint, up to a round of work lost.
        string run = Path.Combine(_dir, "term");
        var (p, _, err) = StartTraining(_data, run);
        Assert.That(Posix.Kill(p.Id, Posix.SigTerm), Is.Zero);
        Assert.That(p.WaitForExit(60_000), Is.True, "stopped");
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(143), err.ToString());
        Assert.That(err.ToString(), Does.Contain("stopped at epoch").And.Contain($"continue with: alpine train --data {_data} --out {run} --resume"));
        var ck = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That(ck.Step, Is.GreaterThan(0), "the checkpoint is where it stopped");
        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Where(n => n!.Contains(".tmp")), Is.Empty);

        var (code, _, resumeErr) = AlpineProcess.Run(["train", "--data", _data, "--out", run, "--resume", "--epochs", (ck.Epoch + 1).ToString()]);
        Assert.That(code, Is.Zero, resumeErr);
    }

    [Test]
    public void ForceThenCtrlCBeforeTheFirstRoundKeepsTheOldRun()
    {
        // Once: the checkpoint written at Ctrl-C replaced the old run, model and all, with a run of a few batches.
        string run = Path.Combine(_dir, "force");
        // 128 users at --batch 1: an epoch of about two thousand batches, seconds of training before the validation
        // round that would replace the old run, however late a loaded machine runs the test's wait and the handler.
        string data = TrainCommandTests.WriteData(Path.Combine(_dir, "many"), seed: 21, users: 128);
        var (code, _, err) = AlpineProcess.Run(["train", "--data", data, "--out", run, "--epochs", "1", "--batch", "32"]);
        Assert.That(code, Is.Zero, err);
        var old = Directory.GetFiles(run).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

        var (p, _, stderr) = StartTraining(data, run, "--force", "--batch", "1");
        Assert.That(Posix.Kill(p.Id, Posix.SigInt), Is.Zero);
        Assert.That(p.WaitForExit(60_000), Is.True);
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(130), stderr.ToString());
        Assert.That(stderr.ToString(), Does.Contain("alpine: stopping at the next safe point")
            .And.Contain("before the first validation round").And.Contain("keeps the previous run"));
        Assert.That(Directory.GetFiles(run).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes), Is.EqualTo(old), "the old run, byte for byte");
        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Where(n => n!.Contains(".tmp") || n.EndsWith(".lock")), Is.Empty);
    }

    [Test]
    public void SigtermDuringSetupStopsAtTheFirstCheckAndLeavesNoLockOrTempFiles()
    {
        // Once: a signal before the training loop (building a large model) killed the process outright, leaving its
        // lock file and staging folder.
        string run = Path.Combine(_dir, "setup");
        var (p, _, err) = StartTrainingUntil("model: ", _data, run, "--hidden", "256");
        Assert.That(Posix.Kill(p.Id, Posix.SigTerm), Is.Zero);
        Assert.That(p.WaitForExit(120_000), Is.True);
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(143), err.ToString());
        Assert.That(err.ToString(), Does.Contain("alpine: stopping at the next safe point (a second signal stops at once)").And.Contain("alpine train: stopped at epoch 1"));
        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Where(n => n!.Contains(".tmp") || n.EndsWith(".lock")), Is.Empty);
    }
}
