using Alpine.Data;
using Alpine.Prep;
using Alpine.Tests.Train;
using Alpine.Train;

namespace Alpine.Tests.Cli;

/// <summary><c>alpine train</c> and <c>alpine evaluate</c> end to end on a tiny prepared folder, and every bad input.</summary>
[TestFixture]
public class TrainCommandTests
{
    private string _root = "", _data = "", _other = "", _dir = "";

    /// <summary>A native data folder of a tiny random log; prepared unless <paramref name="prepare"/> is false.</summary>
    private static string WriteData(string dir, int seed, bool prepare = true)
    {
        Directory.CreateDirectory(dir);
        var log = TinyData.Log(seed, users: 8, maxPerUser: 40);
        NativeFormat.WriteInteractions(Path.Combine(dir, NativeFormat.InteractionsFile), log);
        var features = TinyData.Features(seed);
        using (var w = NpyFile.Create(Path.Combine(dir, NativeFormat.ItemsFile), features.Length / TinyData.FeatureDim, TinyData.FeatureDim))
        {
            w.WriteRows(features);
            w.Complete();
        }
        if (prepare) PreparedData.Prepare(dir, new PrepareOptions());
        return dir;
    }

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        _root = TestDirs.Create();
        _data = WriteData(Path.Combine(_root, "data"), seed: 21);
        _other = WriteData(Path.Combine(_root, "other"), seed: 22);
    }

    [OneTimeTearDown] public void OneTimeTearDown() => TestDirs.Delete(_root);
    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private string RunDir => Path.Combine(_dir, "run");

    /// <summary>Runs the CLI; returns the exit code and stderr.</summary>
    private static (int Code, string Err) Cli(params string[] args)
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try { return (Alpine.Cli.Program.Main(args), err.ToString()); }
        finally { Console.SetError(saved); }
    }

    private string[] Train(params string[] extra) =>
        ["train", "--data", _data, "--out", RunDir, "--epochs", "2", "--batch", "32", .. extra];

    [Test]
    public void TrainsThenEvaluatesOnTheTestPart()
    {
        var (code, err) = Cli(Train());
        Assert.That(code, Is.Zero, err);
        foreach (string f in new[] { Trainer.ModelFileName, Trainer.CheckpointFileName, Trainer.LogFileName, Trainer.MetricsFileName })
            Assert.That(File.Exists(Path.Combine(RunDir, f)), f);
        Assert.That(File.ReadAllLines(Path.Combine(RunDir, Trainer.LogFileName)), Has.Length.EqualTo(3));

        (code, err) = Cli("evaluate", "--data", _data, "--model", RunDir, "--k", "10,50");
        Assert.That(code, Is.Zero, err);
        string json = File.ReadAllText(Path.Combine(RunDir, Alpine.Cli.EvaluateCommand.MetricsFileName));
        Assert.That(json, Does.Contain("\"part\": \"test\"").And.Contain("\"p@50\"").And.Not.Contain("\"p@20\""));
    }

    [Test]
    public void RankPrintsTheTopCandidatesAndRefusesAnUnknownUser()
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        var stdout = new StringWriter();
        var saved = Spectre.Console.AnsiConsole.Console;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
            { Out = new Spectre.Console.AnsiConsoleOutput(stdout), Interactive = Spectre.Console.InteractionSupport.No });
        int code;
        string err;
        try { (code, err) = Cli("rank", "--data", _data, "--model", RunDir, "--user", "1", "--top", "3", "--device", "cpu"); }
        finally { Spectre.Console.AnsiConsole.Console = saved; }
        Assert.That(code, Is.Zero, err);
        Assert.That(stdout.ToString(), Does.Contain("user 1: top 3 of"));

        (code, err) = Cli("rank", "--data", _data, "--model", RunDir, "--user", "99999");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith("alpine rank:").And.Contain("user 99999").And.Not.Contain("\n"));
        (code, err) = Cli("rank", "--data", _data, "--model", RunDir, "--user", "1", "--candidates", "2,x");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--candidates"));
    }

    [Test]
    public void DeviceGpuUsesCudaOrSaysThereIsNone()
    {
        bool hasCuda;
        using (var probe = Alpine.Kernels.AcceleratorFactory.TryCreateCuda()) hasCuda = probe is not null;
        var (code, err) = Cli(Train("--device", "gpu"));
        if (hasCuda)
        {
            Assert.That(code, Is.Zero, err);
            Assert.That(err, Does.Contain("device: "));
        }
        else
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(err.TrimEnd(), Does.Contain("--device gpu: no CUDA device").And.Not.Contain("\n"));
            Assert.That(Directory.Exists(RunDir), Is.False, "nothing written");
        }
    }

    [Test]
    public void ResumeContinuesToMoreEpochs()
    {
        Assert.That(Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "32").Code, Is.Zero);
        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2");
        Assert.That(code, Is.Zero, err);
        Assert.That(ModelFile.Read(Path.Combine(RunDir, Trainer.CheckpointFileName)).Checkpoint!.Progress.Epoch, Is.EqualTo(2));
        Assert.That(File.ReadAllLines(Path.Combine(RunDir, Trainer.LogFileName)), Has.Length.EqualTo(3));
    }

    [TestCase("--variant", "alpine2", "--variant")]
    [TestCase("--mode", "fast", "--mode")]
    [TestCase("--epochs", "0", "--epochs")]
    [TestCase("--epochs", "-3", "--epochs")]
    [TestCase("--batch", "0", "--batch")]
    [TestCase("--batch", "-1", "--batch")]
    [TestCase("--lr", "0", "--lr")]
    [TestCase("--lr", "-0.001", "--lr")]
    [TestCase("--lr", "fast", "--lr")]
    [TestCase("--patience", "0", "--patience")]
    [TestCase("--seed", "-1", "--seed")]
    [TestCase("--threads", "-2", "--threads")]
    [TestCase("--colour", "red", "--colour")]
    [TestCase("--device", "tpu", "--device")]
    public void BadOptionExitsWith2InOneLineAndWritesNothing(string option, string value, string named)
    {
        var (code, err) = Cli(["train", "--data", _data, "--out", RunDir, option, value]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith("alpine train:").And.Contain(named).And.Not.Contain("\n"));
        Assert.That(Directory.Exists(RunDir), Is.False);
    }

    [Test]
    public void AFolderThatWasNeverPreparedIsAnErrorNamingPrepare()
    {
        string raw = WriteData(Path.Combine(_dir, "raw"), seed: 23, prepare: false);
        var (code, err) = Cli("train", "--data", raw, "--out", RunDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain($"alpine prepare --data {raw}"));
        Assert.That(Directory.Exists(RunDir), Is.False);
    }

    [Test]
    public void AnExistingRunFolderIsRefusedUnlessResumeOrForce()
    {
        Directory.CreateDirectory(RunDir);
        File.WriteAllText(Path.Combine(RunDir, "keep.txt"), "mine");
        var (code, err) = Cli(Train());
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--resume").And.Contain("--force"));
        Assert.That(Directory.GetFiles(RunDir), Has.Length.EqualTo(1), "left as it was");

        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume");
        Assert.That(code, Is.EqualTo(2), "nothing to resume");
        Assert.That(err, Does.Contain(Trainer.CheckpointFileName));

        (code, err) = Cli(Train("--force"));
        Assert.That(code, Is.Zero, err);
        Assert.That(File.Exists(Path.Combine(RunDir, "keep.txt")), Is.False, "replaced");
    }

    [Test]
    public void ResumeRefusesChangedTrainingOptions()
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--lr", "0.1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--lr"));
    }

    [Test]
    public void EvaluateRefusesAModelOfAnotherDataSet()
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        var (code, err) = Cli("evaluate", "--data", _other, "--model", RunDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.Contain("another data set").And.Not.Contain("\n"));
        Assert.That(File.Exists(Path.Combine(RunDir, Alpine.Cli.EvaluateCommand.MetricsFileName)), Is.False);
    }

    [Test]
    public void EvaluateRefusesAnotherFormatVersionAndATruncatedModel()
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        string model = Path.Combine(RunDir, Trainer.ModelFileName);
        var bytes = File.ReadAllBytes(model);

        var other = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(other.AsSpan(8), ModelFile.FormatVersion + 1);
        File.WriteAllBytes(model, other);
        var (code, err) = Cli("evaluate", "--data", _data, "--model", RunDir);
        Assert.That((code, err.Contains("version")), Is.EqualTo((2, true)), err);

        File.WriteAllBytes(model, bytes[..^100]);
        (code, err) = Cli("evaluate", "--data", _data, "--model", RunDir);
        Assert.That((code, err.Contains("truncated")), Is.EqualTo((2, true)), err);
    }

    [TestCase("0")]
    [TestCase("10,x")]
    [TestCase("")]
    public void EvaluateRefusesBadK(string k)
    {
        var (code, err) = Cli("evaluate", "--data", _data, "--model", RunDir, "--k", k);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--k"));
    }
}
