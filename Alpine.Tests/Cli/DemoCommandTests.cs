using System.Diagnostics;
using Alpine.Data;
using Alpine.Data.Synthetic;

namespace Alpine.Tests.Cli;

/// <summary><c>alpine demo</c> as a user runs it: a separate process, stopped with a real SIGINT (Ctrl-C).</summary>
[TestFixture]
public class DemoCommandTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    [Test]
    public void CtrlCWhileGeneratingExits130AndLeavesNoTemporaryFolder()
    {
        // Once: no handler, so SIGINT killed the process and left demo/data.tmp-<guid> (24 MB and more) forever.
        string outDir = Path.Combine(_dir, "demo"), dataDir = Path.Combine(outDir, "data");
        using var p = AlpineProcess.Start("demo", "--out", outDir, "--epochs", "1", "--device", "cpu");
        var stderr = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();

        // Signal once the generate stage is writing its temporary folder (the handler is wired before it exists).
        var clock = Stopwatch.StartNew();
        while (!(Directory.Exists(outDir) && Directory.EnumerateDirectories(outDir, "data.tmp-*").Any()))
        {
            Assert.That(p.HasExited, Is.False, "the demo ended before generating");
            Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(60), "no temporary data folder appeared");
            Thread.Sleep(10);
        }
        Assert.That(Posix.Kill(p.Id, Posix.SigInt), Is.Zero);
        Assert.That(p.WaitForExit(60_000), Is.True, "stopped");
        p.WaitForExit();

        Assert.That(p.ExitCode, Is.EqualTo(130), stderr.ToString());
        Assert.That(stderr.ToString(), Does.Contain("alpine: stopping at the next safe point").And.Contain("alpine demo: cancelled"));
        var left = Directory.EnumerateFileSystemEntries(_dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray();
        Assert.That(left.Where(n => n!.Contains(".tmp")), Is.Empty, "no temporary folder or file");
        Assert.That(Directory.Exists(Path.Combine(outDir, "run")), Is.False, "stopped before training");
        // The handler runs on a thread of its own, so on a loaded machine generation may pass its last check (a few
        // seconds after the folder appears) before the token is cancelled: then the finished folder is kept, whole,
        // and prepare stops at its first check.
        if (Directory.Exists(dataDir))
        {
            TestContext.Out.WriteLine("the signal was handled after generation's last check");
            var size = SyntheticSize.Of(SyntheticPreset.Small);
            Assert.That(NativeFormat.ReadInteractions(Path.Combine(dataDir, NativeFormat.InteractionsFile)).Count, Is.EqualTo(size.Impressions), "no half-written data folder");
            using var items = NpyFile.OpenRead(Path.Combine(dataDir, NativeFormat.ItemsFile));
            Assert.That(items.Rows, Is.EqualTo(size.Items), "no half-written data folder");
        }
    }

    [Test]
    public void ASecondDemoKeepsThePreviousRunUnlessForced()
    {
        // Once: a second `alpine demo` replaced the previous demo run without asking.
        string outDir = Path.Combine(_dir, "demo"), run = Path.Combine(outDir, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, Alpine.Train.RunFolder.ModelFileName), "the previous model");
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        int code;
        try { code = Alpine.Cli.Program.Main(["demo", "--out", outDir, "--epochs", "1", "--device", "cpu"]); }
        finally { Console.SetError(saved); }
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.ToString().TrimEnd(), Is.EqualTo($"alpine demo: {run} holds a previous demo run; replace it with --force or give another --out"));
        Assert.That(Directory.GetFileSystemEntries(outDir), Is.EqualTo(new[] { run }), "refused before generating anything");
        Assert.That(File.ReadAllText(Path.Combine(run, Alpine.Train.RunFolder.ModelFileName)), Is.EqualTo("the previous model"));
    }
}
