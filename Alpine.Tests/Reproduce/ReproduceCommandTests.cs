using Alpine.Reproduce;
using Alpine.Tests.Cli;

namespace Alpine.Tests.Reproduce;

/// <summary><c>alpine reproduce --quick</c> end to end on a tiny prepared folder: every table and figure, continuing a report, bad input.</summary>
[TestFixture]
public class ReproduceCommandTests
{
    private string _root = "", _data = "", _report = "", _dir = "";

    /// <summary>The quick plan on this data: every model once, and ALPINE at L = 2 (L = 1 is its main run).</summary>
    private static int QuickRuns => ModelCatalog.Names.Count + 1;

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        _root = TestDirs.Create();
        _data = TrainCommandTests.WriteData(Path.Combine(_root, "data"), seed: 21);
        _report = Path.Combine(_root, "report");
        var (code, _, err) = Run("reproduce", "--data", _data, "--out", _report, "--quick", "--threads", "1");
        Assert.That(code, Is.Zero, err);
    }

    [OneTimeTearDown] public void OneTimeTearDown() => TestDirs.Delete(_root);
    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() { ReadOnlyFolder.Restore(_dir); TestDirs.Delete(_dir); }

    /// <summary>Runs the CLI in this process: the exit code, stdout and stderr.</summary>
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (out_, err) = (new StringWriter(), new StringWriter());
        var (savedOut, savedErr) = (Console.Out, Console.Error);
        Console.SetOut(out_);
        Console.SetError(err);
        try { return (Alpine.Cli.Program.Main(args), out_.ToString(), err.ToString()); }
        finally { Console.SetOut(savedOut); Console.SetError(savedErr); }
    }

    private string[] ResultFiles(string report) =>
        [.. Directory.GetDirectories(Path.Combine(report, Reproduction.RunsFolder)).Select(d => Path.Combine(d, RunResult.FileName)).Where(File.Exists).Order()];

    [Test]
    public void QuickWritesEveryTableAndFigure()
    {
        foreach (string f in ReportFolder.Files) Assert.That(File.Exists(Path.Combine(_report, f)), f);
        foreach (string png in ReportFolder.Files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(_report, png));
            Assert.That(bytes.Length, Is.GreaterThan(1000), png);
            Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), png);
        }
        string[] table2 = File.ReadAllLines(Path.Combine(_report, "table2.csv"));
        Assert.That(table2, Has.Length.EqualTo(1 + ModelCatalog.Names.Count));
        Assert.That(table2.Skip(1).Select(l => l.Split(',')[0]), Is.EqualTo(ModelCatalog.Names.Select(ModelCatalog.Display)));
        string[] table3 = File.ReadAllLines(Path.Combine(_report, "table3.csv"));
        Assert.That(table3.Skip(1).Select(l => l.Split(',')[0]), Is.EqualTo(new[] { "ALPINE_u", "ALPINE_m", "ALPINE_um", "ALPINE_umg", "ALPINE" }));
        // Every row but ALPINE's has its paired tests against ALPINE, p-values in [0, 1].
        int pT = Array.IndexOf(table3[0].Split(','), "p_ttest");
        foreach (string row in table3.Skip(1).SkipLast(1))
        {
            double p = double.Parse(row.Split(',')[pT], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(p, Is.InRange(0.0, 1.0), row);
        }
        Assert.That(File.ReadAllLines(Path.Combine(_report, "neighbours.csv")).Skip(1).Select(l => l.Split(',')[0]), Is.EqualTo(new[] { "1", "2" }));
        string md = File.ReadAllText(Path.Combine(_report, "table2.md"));
        Assert.That(md, Does.Contain("paper's data (Dataset I, not this data)").And.Contain("| 0.739 | 0.331 | 0.436 | 0.376 |"));
        Assert.That(ResultFiles(_report), Has.Length.EqualTo(QuickRuns));
    }

    [Test]
    public void TheSameCommandAgainTrainsNothingFinished()
    {
        var before = ResultFiles(_report).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var (code, stdout, err) = Run("reproduce", "--data", _data, "--out", _report, "--quick", "--threads", "1");
        Assert.That(code, Is.Zero, err);
        Assert.That(stdout.Split('\n').Count(l => l.TrimStart().StartsWith("kept ", StringComparison.Ordinal)), Is.EqualTo(QuickRuns));
        Assert.That(stdout, Does.Not.Contain($"[1/{QuickRuns}]"), "no run started");
        Assert.That(ResultFiles(_report).ToDictionary(f => f, File.GetLastWriteTimeUtc), Is.EqualTo(before));
    }

    [Test]
    public void AStoppedReportContinuesWithTheRunsNotFinished()
    {
        // A copy of the report with two runs unfinished, as Ctrl-C leaves it: their results missing.
        string report = Path.Combine(_dir, "report");
        CopyFolder(_report, report);
        string[] gone = ["alpine_um-L1-s1", "alpine-L2-s1"];
        foreach (string id in gone) File.Delete(Path.Combine(report, Reproduction.RunsFolder, id, RunResult.FileName));
        File.Delete(Path.Combine(report, "table2.md"));
        var kept = ResultFiles(report).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var (code, stdout, err) = Run("reproduce", "--data", _data, "--out", report, "--quick", "--threads", "1");
        Assert.That(code, Is.Zero, err);
        string[] started = [.. stdout.Split('\n').Where(l => l.StartsWith('['))];
        Assert.That(started.Select(l => l.Split(' ')[1].TrimEnd(':')), Is.EqualTo(gone), stdout);
        foreach (var (f, t) in kept) Assert.That(File.GetLastWriteTimeUtc(f), Is.EqualTo(t), f);
        Assert.That(ResultFiles(report), Has.Length.EqualTo(QuickRuns));
        Assert.That(File.Exists(Path.Combine(report, "table2.md")));
        // Same seeds, same data: the retrained runs give the results they gave the first time (SPEC D13).
        foreach (string id in gone)
            Assert.That(RunResult.TryRead(Path.Combine(report, Reproduction.RunsFolder, id, RunResult.FileName))!.UserAuc,
                Is.EqualTo(RunResult.TryRead(Path.Combine(_report, Reproduction.RunsFolder, id, RunResult.FileName))!.UserAuc));
    }

    [Test]
    public void UsersTrainsOnTheFirstUsersAndKeepsItsRunsApart()
    {
        string report = Path.Combine(_dir, "first");
        var (code, stdout, err) = Run("reproduce", "--data", _data, "--out", report, "--quick", "--users", "5", "--models", "bpr", "--threads", "1");
        Assert.That(code, Is.Zero, err);
        Assert.That(stdout, Does.Contain("the first 5 of 8 users"));
        Assert.That(File.ReadAllText(Path.Combine(report, "table2.md")), Does.Contain("5 users"));
        var subset = RunResult.TryRead(ResultFiles(report).Single())!;
        var whole = ResultFiles(_report).Select(f => RunResult.TryRead(f)!).Single(r => r.Spec.Model == "bpr");
        Assert.That(subset.Fingerprint, Is.Not.EqualTo(whole.Fingerprint), "a run on 5 users is not a run on all 8");
        Assert.That(subset.AucUsers, Is.Not.Empty.And.All.LessThan(5), "only the first 5 users are scored");
    }

    [Test, Category("Slow")]
    public void CtrlCStopsWithoutAHalfRunAndTheSameCommandContinues()
    {
        string report = Path.Combine(_dir, "report");
        string[] args = ["reproduce", "--data", _data, "--out", report, "--quick", "--seeds", "2", "--threads", "1"];
        using var p = AlpineProcess.Start(args);
        var stderr = p.StandardError.ReadToEndAsync();
        // SIGINT once the third run has started.
        for (string? line; (line = p.StandardOutput.ReadLine()) is not null;)
            if (line.StartsWith("[3/", StringComparison.Ordinal)) { Assert.That(Posix.Kill(p.Id, Posix.SigInt), Is.Zero); break; }
        p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(60_000), "stopped within a minute");
        Assert.That(p.ExitCode, Is.EqualTo(130), stderr.Result);
        Assert.That(stderr.Result, Does.Contain("the same command continues"));
        int finished = ResultFiles(report).Length;
        Assert.That(finished, Is.InRange(2, 2 * QuickRuns - 1));
        Assert.That(Directory.GetFiles(report, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no half-written file");
        Assert.That(File.Exists(Path.Combine(report, "table2.md")), Is.False, "tables only once every run is finished");

        var (code, stdout, err) = Run(args);
        Assert.That(code, Is.Zero, err);
        Assert.That(stdout.Split('\n').Count(l => l.TrimStart().StartsWith("kept ", StringComparison.Ordinal)), Is.EqualTo(finished));
        Assert.That(ResultFiles(report), Has.Length.EqualTo(2 * QuickRuns));
        Assert.That(File.Exists(Path.Combine(report, "table2.md")));
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(d.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, f.Replace(from, to));
    }

    private static void AssertOneLineError((int Code, string Out, string Err) r, params string[] mentions)
    {
        Assert.That(r.Code, Is.EqualTo(2), r.Err);
        string err = r.Err.TrimEnd('\n');
        Assert.That(err, Does.StartWith("alpine reproduce: ").And.Not.Contain("\n").And.Not.Contain("Exception"));
        foreach (string m in mentions) Assert.That(err, Does.Contain(m));
    }

    [Test]
    public void BadInputIsOneLineExit2AndWritesNothing()
    {
        string report = Path.Combine(_dir, "new");
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", report, "--models", "alpine,nope"), "--models", "'nope'", "alpine_umg");
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", report, "--models", "alpine,alpine"), "--models", "twice");
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", report, "--seeds", "0"), "--seeds", "from 1 to 100", "'0'");
        AssertOneLineError(Run("reproduce", "--data", Path.Combine(_dir, "missing"), "--out", report), "missing");
        Assert.That(Directory.Exists(report), Is.False);

        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "x");
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", file), file, "is a file");
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", Path.Combine(file, "report")), "is a file");
        // A folder that is not a report (here: the data folder) is never written into.
        var dataEntries = Directory.GetFileSystemEntries(_data).Order().ToArray();
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", _data), "not a report folder");
        Assert.That(Directory.GetFileSystemEntries(_data).Order(), Is.EqualTo(dataEntries));

        // A report another writer holds.
        string held = Path.Combine(_dir, "held");
        using (Alpine.Data.FolderLock.Acquire(held, "report folder", createParent: true))
            AssertOneLineError(Run("reproduce", "--data", _data, "--out", held), held, "is being written by process");
        Assert.That(Directory.Exists(held), Is.False);

        string readOnly = Path.Combine(_dir, "ro");
        Directory.CreateDirectory(readOnly);
        ReadOnlyFolder.Make(readOnly);
        AssertOneLineError(Run("reproduce", "--data", _data, "--out", Path.Combine(readOnly, "report")), Path.Combine(readOnly, "report"), "permission denied");
        Assert.That(Directory.EnumerateFileSystemEntries(readOnly), Is.Empty);
    }
}
