using Alpine.Data;
using Alpine.Prep;
using Spectre.Console;

namespace Alpine.Tests.Cli;

[TestFixture]
public class PrepareCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestDirs.Create();
        var rng = new Random(3);
        var log = new InteractionLog();
        for (int i = 0; i < 300; i++)
        {
            bool click = rng.Next(3) == 0;
            log.Add(rng.Next(6), rng.Next(40), rng.Next(100), click, click && rng.Next(4) == 0, false);
        }
        NativeFormat.WriteInteractions(Path.Combine(_dir, NativeFormat.InteractionsFile), log);
        using var w = NpyFile.Create(Path.Combine(_dir, NativeFormat.ItemsFile), 40, 70);
        w.WriteRows(Enumerable.Range(0, 40 * 70).Select(_ => (float)rng.NextDouble()).ToArray());
        w.Complete();
    }

    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    /// <summary>Runs the CLI with Spectre's and the error console captured.</summary>
    private static (int Rc, string Out, string Err) Run(params string[] args)
    {
        var saved = AnsiConsole.Console;
        var savedErr = Console.Error;
        var outText = new StringWriter();
        var errText = new StringWriter();
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(outText), Interactive = InteractionSupport.No });
        Console.SetError(errText);
        try { return (Alpine.Cli.Program.Main(args), outText.ToString(), errText.ToString()); }
        finally { AnsiConsole.Console = saved; Console.SetError(savedErr); }
    }

    [Test]
    public void PreparesWithOptionsAndStatsReadsTheCache()
    {
        var (rc, output, _) = Run("prepare", "--data", _dir, "--top-l", "2", "--metric", "cosine", "--seed", "5");
        Assert.That(rc, Is.Zero);
        Assert.That(output, Does.Contain("prepared"));
        var p = PreparedData.Load(_dir);
        Assert.That((p.TopL, p.Metric, p.Options.Seed), Is.EqualTo((2, EdgeMetric.Cosine, 5)));

        (rc, output, _) = Run("stats", "--data", _dir);
        Assert.That(rc, Is.Zero);
        int users = Enumerable.Range(0, p.UserCount).Count(u => p.UserOffsets[u + 1] > p.UserOffsets[u]);
        Assert.That(output, Does.Contain("# users").And.Contain("#interactions in test set").And.Contain("300"));
        Assert.That(output, Does.Match($@"# users\s*│\s*{users}\s"));
    }

    [Test]
    public void StatsWorksWithoutACache()
    {
        var (rc, output, _) = Run("stats", "--data", _dir);
        Assert.That(rc, Is.Zero);
        Assert.That(output, Does.Contain("# interactions").And.Contain("300"));
        Assert.That(File.Exists(PreparedData.CachePath(_dir)), Is.False, "stats does not prepare");
    }

    [TestCase("prepare")]
    [TestCase("prepare", "--data", "DIR", "--top-l", "0")]
    [TestCase("prepare", "--data", "DIR", "--metric", "manhattan")]
    [TestCase("prepare", "--data", "DIR", "--bogus", "1")]
    [TestCase("stats", "--data", "DIR", "--top-l", "2")]
    public void BadUsageExitsWith2NamingTheOption(params string[] args)
    {
        var (rc, _, err) = Run(args.Select(a => a == "DIR" ? _dir : a).ToArray());
        Assert.That(rc, Is.EqualTo(2));
        Assert.That(err, Does.StartWith($"alpine {args[0]}: ").And.Contain("--"));
        Assert.That(File.Exists(PreparedData.CachePath(_dir)), Is.False);
    }

    [Test]
    public void AHeaderOnlyLogIsOneLineExit2()
    {
        // ≤ 64-d features skip the PCA, so this once reached the edge builder: ArgumentOutOfRangeException.
        string dir = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(dir);
        NativeFormat.WriteInteractions(Path.Combine(dir, NativeFormat.InteractionsFile), new InteractionLog());
        using (var w = NpyFile.Create(Path.Combine(dir, NativeFormat.ItemsFile), 3, 8)) { w.WriteRows(new float[24]); w.Complete(); }
        var (rc, _, err) = Run("prepare", "--data", dir);
        Assert.That(rc, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith($"alpine prepare: {Path.Combine(dir, NativeFormat.InteractionsFile)}: no impressions").And.Not.Contain("\n"));
        Assert.That(File.Exists(PreparedData.CachePath(dir)), Is.False);
    }

    [Test]
    public void MissingFolderOrBadFeaturesExitWith2AndWriteNoCache()
    {
        var (rc, _, err) = Run("prepare", "--data", Path.Combine(_dir, "nope"));
        Assert.That(rc, Is.EqualTo(2));
        Assert.That(err, Does.Contain("nope"));

        // A NaN feature row: named, and no cache is left behind.
        string npy = Path.Combine(_dir, NativeFormat.ItemsFile);
        using (var fs = new FileStream(npy, FileMode.Open)) { fs.Seek(-4, SeekOrigin.End); fs.Write(BitConverter.GetBytes(float.NaN)); }
        (rc, _, err) = Run("prepare", "--data", _dir);
        Assert.That(rc, Is.EqualTo(2));
        Assert.That(err, Does.Contain(npy).And.Contain("row 39"));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { NativeFormat.InteractionsFile, NativeFormat.ItemsFile }));
    }
}
