namespace Alpine.Tests.Cli;

/// <summary>Per-command help, the version, and how option errors read: one line, exit 2, naming the option.</summary>
[TestFixture]
public class HelpAndParsingTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    /// <summary>Runs the CLI in-process with stdout and stderr captured.</summary>
    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var (savedOut, savedErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (Alpine.Cli.Program.Main(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(savedOut); Console.SetError(savedErr); }
    }

    [TestCase("train", "--data", "--out", "--epochs", "--lr", "--mode", "--hidden", "--alphas", "--resume", "--force", "--device", "--threads")]
    [TestCase("evaluate", "--data", "--model", "--k", "--device")]
    [TestCase("rank", "--data", "--model", "--user", "--candidates", "--top")]
    [TestCase("prepare", "--data", "--top-l", "--metric", "--seed")]
    [TestCase("generate", "--preset", "--profile", "--seed", "--out", "--force")]
    [TestCase("import", "--out", "--force")]
    [TestCase("stats", "--data")]
    [TestCase("demo", "--out", "--epochs", "--device", "--threads")]
    [TestCase("reproduce", "--data", "--out", "--seeds", "--models", "--budget", "--quick", "--sweep", "--threads")]
    public void HelpListsEveryOptionAndStartsNoWork(string command, params string[] options)
    {
        // Once: `train --help` said "option --data is required" and `demo --help` "unknown option".
        string outDir = Path.Combine(_dir, "out");
        var (code, output, err) = Cli(command, "--help", "--out", outDir);
        Assert.That(code, Is.Zero, err);
        Assert.That(err, Is.Empty);
        foreach (var o in options) Assert.That(output, Does.Contain(o), o);
        Assert.That(Directory.Exists(outDir), Is.False, "help writes nothing");
        Assert.That(Directory.Exists("alpine-demo") && Directory.GetCreationTimeUtc("alpine-demo") > DateTime.UtcNow.AddMinutes(-1), Is.False, "demo's default folder not created");
    }

    [Test]
    public void HelpShowsDefaultsAsTheUserTypesThem()
    {
        var (_, output, _) = Cli("train", "--help");
        string[] lines = output.Split('\n');
        string Line(string option) => lines.Single(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));
        Assert.That(Line("--epochs"), Does.Contain($"[default: {new Alpine.Train.TrainOptions().Epochs}]"));
        Assert.That(Line("--piece"), Does.Contain("<N|random>").And.Contain("[default: 256]"));
        Assert.That(Line("--piece-order"), Does.Contain("[default: scattered]"));
        Assert.That(Line("--hidden"), Does.Contain("[default: 64]"));
        Assert.That(Line("--batch"), Does.Contain("[default: 2048]"));
        Assert.That(Line("--lr"), Does.Contain("[default: 0.001]"));
        Assert.That(Line("--mode"), Does.Contain("[default: shared]").And.Not.Contain("SharedPrefix"));
        Assert.That(Line("--device"), Does.Contain("[default: auto]"));
        Assert.That(Line("--data"), Does.Contain("REQUIRED"));
        Assert.That(Cli("help", "train").Out, Is.EqualTo(output), "alpine help train");
    }

    [Test]
    public void VersionPrintsTheVersion()
    {
        var (code, output, _) = Cli("--version");
        Assert.That(code, Is.Zero);
        string expected = typeof(Alpine.Cli.Program).Assembly.GetName().Version!.ToString(3);
        Assert.That(output.Trim(), Does.StartWith(expected));
    }

    [Test]
    public void NoArgumentsPrintsTheCommandsAndExits2()
    {
        var (code, output, _) = Cli();
        Assert.That(code, Is.EqualTo(2));
        Assert.That(output, Does.Contain("train").And.Contain("evaluate").And.Contain("demo"));
    }

    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--lr", "inf" }, "option --lr expects a finite number > 0, got 'inf'")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--lr", "NaN" }, "option --lr expects a finite number > 0, got 'NaN'")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--epochs", "99999999999" }, "option --epochs: 99999999999 is out of range; expected a whole number from 1 to 2147483647")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--hidden", "4096" }, "option --hidden expects a whole number from 1 to 1024, got '4096'")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--epochs", "0" }, "option --epochs expects a whole number of at least 1, got '0'")]
    [TestCase(new[] { "train", "--data", "D" }, "option --out is required (the run folder to write)")]
    [TestCase(new[] { "rank", "--data", "D", "--model", "M" }, "option --user is required (a user id)")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--colour", "red" }, "unknown option --colour")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--mode", "fast" }, "option --mode expects one of shared|window, got 'fast'")]
    [TestCase(new[] { "train", "--data", "D", "--data", "E", "--out", "R" }, "--data")]
    [TestCase(new[] { "train", "--data", "D", "--out", "R", "--epochs" }, "--epochs")]
    [TestCase(new[] { "teach" }, "unknown command 'teach'")]
    [TestCase(new[] { "import", "thacil", "--force=yes", "a", "b", "--out", "R" }, "option --force is a flag and takes no value, got 'yes'")]
    public void ABadOptionIsOneLineExit2NamingIt(string[] args, string expected)
    {
        var (code, output, err) = Cli(args);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.Contain(expected).And.Not.Contain("\n"));
        Assert.That(err, Does.StartWith("alpine"));
        Assert.That(output, Is.Empty, "no help dumped on an error");
    }
}
