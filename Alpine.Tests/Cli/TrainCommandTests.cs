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
    internal static string WriteData(string dir, int seed, bool prepare = true, int users = 8)
    {
        Directory.CreateDirectory(dir);
        var log = TinyData.Log(seed, users, maxPerUser: 40);
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
    internal static (int Code, string Err) Cli(params string[] args)
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try { return (Alpine.Cli.Program.Main(args), err.ToString()); }
        finally { Console.SetError(saved); }
    }

    /// <summary>Runs the CLI with Spectre's console captured too: the exit code, stdout and stderr.</summary>
    private static (int Code, string Out, string Err) CliWithStdout(params string[] args)
    {
        var stdout = new StringWriter();
        var saved = Spectre.Console.AnsiConsole.Console;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
            { Out = new Spectre.Console.AnsiConsoleOutput(stdout), Interactive = Spectre.Console.InteractionSupport.No });
        try
        {
            var (code, err) = Cli(args);
            return (code, stdout.ToString(), err);
        }
        finally { Spectre.Console.AnsiConsole.Console = saved; }
    }

    private string[] Train(params string[] extra) =>
        ["train", "--data", _data, "--out", RunDir, "--epochs", "2", "--batch", "32", .. extra];

    [Test]
    public void TrainsThenEvaluatesOnTheTestPart()
    {
        var (code, err) = Cli(Train());
        Assert.That(code, Is.Zero, err);
        foreach (string f in new[] { RunFolder.ModelFileName, RunFolder.CheckpointFileName, RunFolder.LogFileName, RunFolder.MetricsFileName })
            Assert.That(File.Exists(Path.Combine(RunDir, f)), f);
        Assert.That(File.ReadAllLines(Path.Combine(RunDir, RunFolder.LogFileName)), Has.Length.EqualTo(3));

        (code, err) = Cli("evaluate", "--data", _data, "--model", RunDir, "--k", "10,50");
        Assert.That(code, Is.Zero, err);
        string json = File.ReadAllText(Path.Combine(RunDir, Alpine.Cli.EvaluateCommand.MetricsFileName));
        Assert.That(json, Does.Contain("\"part\": \"test\"").And.Contain("\"p@50\"").And.Not.Contain("\"p@20\""));
    }

    [Test]
    public void PipedOutputIsNotWrapped()
    {
        // Spectre wrapped at 80 columns when piped: the final "best validation … → path" line split, breaking scripts.
        string run = Path.Combine(_dir, new string('r', 90));
        var (code, output, err) = AlpineProcess.Run(["train", "--data", _data, "--out", run, "--epochs", "1", "--batch", "32", "--device", "cpu"]);
        Assert.That(code, Is.Zero, err);
        string modelPath = Path.Combine(run, RunFolder.ModelFileName);
        Assert.That(output.Split('\n').Where(l => l.Contains("best validation")).ToArray(),
            Has.Length.EqualTo(1).And.All.EndsWith($"→ {modelPath}"), output);
    }

    [Test]
    public void TheFirstBatchIsReportedAtOnceWithItsTime()
    {
        // Once: `--hidden 4096` printed nothing for 10 minutes; the first line came at a tenth of an epoch.
        var (code, output, err) = AlpineProcess.Run(["train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "1", "--device", "cpu"]);
        Assert.That(code, Is.Zero, err);
        string first = output.Split('\n').First(l => l.Contains(" batch "));
        Assert.That(first, Does.Match(@"^  epoch 1/1 batch 1/\d+ loss .* \(first batch [0-9.]+ s; an epoch ~\d+ (s|min|h)\)$"));
    }

    [Test]
    public void AModelThatCannotFitInMemoryIsRefusedWithTheEstimate()
    {
        var e = Assert.Throws<UsageException>(() => Alpine.Cli.TrainCommand.RequireMemory(parameters: 300_000_000, availableBytes: 2L << 30))!;
        Assert.That(e.Message, Does.Contain("300,000,000 parameters").And.Contain("4.5 GiB").And.Contain("2.0 GiB available").And.Contain("--hidden"));
        Assert.That(() => Alpine.Cli.TrainCommand.RequireMemory(parameters: 100_000_000, availableBytes: 2L << 30), Throws.Nothing);
    }

    [Test]
    public void EvaluatePrintsTheMetricsEvenWhenItCannotSaveThem()
    {
        // Once: evaluate computed the metrics, then exited 2 without printing them, naming a temp file.
        Assert.That(Cli(Train()).Code, Is.Zero);
        string metrics = Path.Combine(RunDir, Alpine.Cli.EvaluateCommand.MetricsFileName);
        Directory.CreateDirectory(metrics); // the OS refuses to put a file there, even to root
        var (code, stdout, err) = CliWithStdout("evaluate", "--data", _data, "--model", RunDir, "--device", "cpu");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Does.Contain("AUC_user").And.Contain("P@K"));
        Assert.That(err.TrimEnd(), Does.StartWith($"alpine evaluate: cannot write {metrics}: ").And.Not.Contain(".tmp").And.Not.Contain("\n"));
    }

    [Test]
    public void TrainSaysWhatItTrainsBeforeTheFirstBatchAndDrawsItsCurves()
    {
        var stdout = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(stdout);
        int code;
        string err;
        try { (code, err) = Cli(Train("--piece", "4", "--piece-order", "scattered")); }
        finally { Console.SetOut(saved); }
        Assert.That(code, Is.Zero, err);
        var data = PreparedData.Load(_data);
        int fit = data.Part.Count(p => p == SplitPart.Train), validation = data.Part.Count(p => p == SplitPart.Validation);
        string first = stdout.ToString().Split('\n').First(l => l.StartsWith("alpine, "));
        Assert.That(first, Does.StartWith($"alpine, SharedPrefix, H 64, D {data.Items.VisualDim}, W 300;"));
        Assert.That(first, Does.Contain($"fit {fit:N0} targets of 8 users, validation {validation:N0} targets of 8 users"));
        Assert.That(first, Does.Contain("scattered pieces of ≤ 4").And.Contain("users a batch").And.Contain("batches an epoch of ≤ 32 targets"));
        var o = ModelFile.Read(Path.Combine(RunDir, RunFolder.CheckpointFileName)).Checkpoint!.Progress.Options;
        Assert.That((o.PieceSize, o.PieceOrder), Is.EqualTo((4, PieceOrder.Scattered)));

        byte[] png = File.ReadAllBytes(Path.Combine(RunDir, RunFolder.CurvesFileName));
        Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
        Assert.That(png, Has.Length.GreaterThan(5000), "a drawn plot, not an empty image");
        Assert.That(Cli(Train("--force")).Code, Is.Zero, "a run folder with its curves is still a run folder");
    }

    [Test]
    public void PieceOptionsParseAndAreFixedOnResume()
    {
        Assert.That(Cli(Train("--piece", "random", "--min-delta", "0.01")).Code, Is.Zero);
        var o = ModelFile.Read(Path.Combine(RunDir, RunFolder.CheckpointFileName)).Checkpoint!.Progress.Options;
        Assert.That((o.PieceSize, o.MinDelta), Is.EqualTo((1, 0.01f)));
        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--piece", "8");
        Assert.That((code, err.TrimEnd()), Is.EqualTo((2, "alpine train: --piece cannot change when resuming (the checkpoint fixes it); only --epochs, --patience and --min-delta can")));
        foreach (var bad in new[] { new[] { "--piece", "0" }, ["--piece", "many"], ["--piece-order", "sideways"], ["--min-delta", "-1"] })
        {
            (code, err) = Cli(Train([.. bad, "--force"]));
            Assert.That(code, Is.EqualTo(2), string.Join(" ", bad));
            Assert.That(err.TrimEnd(), Does.Contain(bad[0]).And.Contain(bad[1]).And.Not.Contain("\n"));
        }
    }

    [Test]
    public void RankPrintsTheTopCandidatesAndRefusesAnUnknownUser()
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        var (code, stdout, err) = CliWithStdout("rank", "--data", _data, "--model", RunDir, "--user", "1", "--top", "3", "--device", "cpu");
        Assert.That(code, Is.Zero, err);
        Assert.That(stdout, Does.Contain("user 1: top 3 of"));

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
        using (var probe = Alpine.Kernels.Device.AcceleratorFactory.TryCreateCuda()) hasCuda = probe is not null;
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
        Assert.That(ModelFile.Read(Path.Combine(RunDir, RunFolder.CheckpointFileName)).Checkpoint!.Progress.Epoch, Is.EqualTo(2));
        Assert.That(File.ReadAllLines(Path.Combine(RunDir, RunFolder.LogFileName)), Has.Length.EqualTo(3));
    }

    [TestCase("--variant", "alpine2", "--variant")]
    [TestCase("--mode", "fast", "--mode")]
    [TestCase("--epochs", "0", "--epochs")]
    [TestCase("--epochs", "-3", "--epochs")]
    [TestCase("--batch", "0", "--batch")]
    [TestCase("--batch", "-1", "--batch")]
    [TestCase("--batch", "2147483647", "--batch")] // once "Out of memory", exit 134
    [TestCase("--hidden", "0", "--hidden")]
    [TestCase("--window", "0", "--window")]
    [TestCase("--attention", "dot", "--attention")]
    [TestCase("--cstar", "previous", "--cstar")]
    [TestCase("--user-matrix", "max", "--user-matrix")]
    [TestCase("--alphas", "0.5,0.5", "--alphas")]
    [TestCase("--alphas", "0.5,x,0.1", "--alphas")]
    [TestCase("--alphas", "0.5,-1,0.1", "--alphas")]
    [TestCase("--alphas", "0,0,0", "--alphas")] // once a constant predictor, exit 0
    [TestCase("--l2", "-1e-4", "--l2")]
    [TestCase("--l2", "nan", "--l2")]
    [TestCase("--lr", "inf", "a finite number > 0")]
    [TestCase("--epochs", "99999999999", "out of range")]
    [TestCase("--lr", "0", "--lr")]
    [TestCase("--lr", "-0.001", "--lr")]
    [TestCase("--lr", "fast", "--lr")]
    [TestCase("--patience", "0", "--patience")]
    [TestCase("--eval-every", "-1", "--eval-every")]
    [TestCase("--eval-every", "x", "--eval-every")]
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
        Assert.That(Cli(Train()).Code, Is.Zero);
        var (code, err) = Cli(Train());
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--resume").And.Contain("--force"));

        (code, err) = Cli(Train("--force", "--seed", "5"));
        Assert.That(code, Is.Zero, err);
        Assert.That(ModelFile.Read(Path.Combine(RunDir, RunFolder.CheckpointFileName)).Checkpoint!.Progress.Options.Seed, Is.EqualTo(5), "replaced");
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.EqualTo(new[] { RunDir }), "no staging or old folder left");
    }

    [Test]
    public void ForceRefusesAFolderThatIsNotARun()
    {
        // --out . or a data folder: --force once deleted either whole.
        Directory.CreateDirectory(RunDir);
        File.WriteAllText(Path.Combine(RunDir, "keep.txt"), "mine");
        var (code, err) = Cli(Train("--force"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.Contain("not a run folder").And.Contain("'keep.txt'").And.Not.Contain("\n"));
        Assert.That(Directory.GetFileSystemEntries(RunDir).Select(Path.GetFileName), Is.EqualTo(new[] { "keep.txt" }), "left as it was");

        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume");
        Assert.That(code, Is.EqualTo(2), "nothing to resume");
        Assert.That(err, Does.Contain(RunFolder.CheckpointFileName));

        string data = WriteData(Path.Combine(_dir, "data"), seed: 21);
        string[] before = Directory.GetFiles(data);
        (code, err) = Cli("train", "--data", data, "--out", data, "--force");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("not a run folder"));
        Assert.That(Directory.GetFiles(data), Is.EqualTo(before), "the data folder is intact");
    }

    [Test]
    public void AForcedRunThatFailsBeforeItsFirstCheckpointKeepsTheOldRun()
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        var old = Directory.GetFiles(RunDir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

        // A huge learning rate overflows within the first epoch: "training diverged", before any checkpoint.
        var (code, err) = Cli(Train("--force", "--lr", "1e30"));
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(err.TrimEnd(), Does.StartWith("alpine train:").And.Contain("diverged").And.Not.Contain("\n"));
        Assert.That(Directory.GetFiles(RunDir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes), Is.EqualTo(old), "the old run, byte for byte");
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.EqualTo(new[] { RunDir }), "no staging folder left");
    }

    [Test]
    public void AFreshRunThatFailsBeforeItsFirstCheckpointLeavesNoFolder()
    {
        var (code, err) = Cli(Train("--lr", "1e30"));
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(Directory.GetFileSystemEntries(_dir), Is.Empty, "no run folder, no staging folder: the next train needs no --force");
    }

    [Test]
    public void OutThatIsAFileIsOneLineExit2()
    {
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "x");
        var (code, err) = Cli(Train().Select(a => a == RunDir ? file : a).ToArray());
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith("alpine train:").And.Contain(file).And.Not.Contain("\n"));
        Assert.That(File.ReadAllText(file), Is.EqualTo("x"));
    }

    [Test]
    public void IoErrorsAreOneLineExit2NamingThePath()
    {
        // A file where a folder must be: the runtime's IOException, once a stack trace.
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "x");
        var (code, err) = Cli("generate", "--preset", "tiny", "--out", Path.Combine(file, "data"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith("alpine generate:").And.Contain(file).And.Not.Contain("\n").And.Not.Contain(" at "));
    }

    [Test]
    public void ModelOptionsReachTheModelFile()
    {
        var (code, err) = Cli(Train("--hidden", "5", "--window", "7", "--cstar", "carried", "--user-matrix", "sum",
            "--alphas", "0.5,0.3,0.2", "--attention", "bilinear", "--l2", "0.002"));
        Assert.That(code, Is.Zero, err);
        var c = ModelFile.Read(Path.Combine(RunDir, RunFolder.ModelFileName)).Config;
        Assert.That((c.Hidden, c.Window, c.CStar, c.UserInit, c.Attention), Is.EqualTo((5, 7, Alpine.Model.CStarReading.Carried, Alpine.Model.UserInit.Sum, Alpine.Model.AttentionKind.Bilinear)));
        Assert.That(c.Alphas, Is.EqualTo(new[] { 0.5f, 0.3f, 0.2f }));
        Assert.That(c.L2, Is.EqualTo(0.002f));

        // scaled-dot needs H = D (8 here): ModelConfig's message names the flags train has.
        (code, err) = Cli(Train("--force", "--attention", "scaled-dot", "--hidden", "5"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.Contain("--attention scaled-dot").And.Not.Contain("\n"));
        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--window", "9");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--window"));
        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--l2", "0.001");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--l2"));
    }

    [Test]
    public void RankEvaluateAndResumeRefuseAModelOfOtherPrepareOptions()
    {
        string data = WriteData(Path.Combine(_dir, "data"), seed: 21);
        Assert.That(Cli("train", "--data", data, "--out", RunDir, "--epochs", "1", "--batch", "32").Code, Is.Zero);
        PreparedData.Prepare(data, new PrepareOptions { TopL = 2 }); // same sources, other graph edges

        foreach (var args in new[]
        {
            new[] { "rank", "--data", data, "--model", RunDir, "--user", "1", "--device", "cpu" }, // once an ArgumentException, exit 134
            new[] { "evaluate", "--data", data, "--model", RunDir, "--device", "cpu" },
            new[] { "train", "--data", data, "--out", RunDir, "--resume", "--epochs", "2" },
        })
        {
            var (code, err) = Cli(args);
            Assert.That(code, Is.EqualTo(2), args[0]);
            Assert.That(err.TrimEnd(), Does.StartWith($"alpine {args[0]}:").And.Contain("--top-l 2").And.Contain("alpine prepare --data").And.Not.Contain("\n"), args[0]);
        }
        Assert.That(File.Exists(Path.Combine(RunDir, Alpine.Cli.EvaluateCommand.MetricsFileName)), Is.False);

        // Another metric or PCA seed is refused the same way.
        PreparedData.Prepare(data, new PrepareOptions { Metric = EdgeMetric.Cosine });
        Assert.That(Cli("evaluate", "--data", data, "--model", RunDir).Err, Does.Contain("--metric cosine"));
        PreparedData.Prepare(data, new PrepareOptions { Seed = 7 });
        Assert.That(Cli("evaluate", "--data", data, "--model", RunDir).Err, Does.Contain("--seed 7"));
    }

    [Test]
    public void ResumeNamesAMalformedLogRowAndDropsATornLastRow()
    {
        Assert.That(Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "32").Code, Is.Zero);
        string log = Path.Combine(RunDir, RunFolder.LogFileName);
        string good = File.ReadAllText(log);

        File.WriteAllText(log, good + "junk-without-commas\n");
        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith($"alpine train: {log}:3: malformed row").And.Not.Contain("\n"));

        // A crash in the middle of an append leaves a row without its newline (even one whose step parses): dropped.
        File.WriteAllText(log, good + "999,5");
        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2");
        Assert.That(code, Is.Zero, err);
        var rows = File.ReadAllLines(log);
        Assert.That(rows, Has.Length.EqualTo(3));
        Assert.That(rows.Skip(1).Select(r => r.Split(',')[1]), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public void ResumeOnAnotherDeviceThanTheCheckpointsWarnsInOneLine()
    {
        Assert.That(Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "32", "--device", "cpu").Code, Is.Zero);
        string path = Path.Combine(RunDir, RunFolder.CheckpointFileName);
        var ck = ModelFile.Read(path);
        Assert.That(ck.Checkpoint!.Progress.Device, Is.EqualTo("cpu"));

        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2");
        Assert.That(code, Is.Zero, err);
        Assert.That(err, Does.Not.Contain("warning"), "no --device: the checkpoint's device");

        // A checkpoint from the GPU, continued on the CPU: said once, and the run goes on.
        var s = ck.Checkpoint;
        new ModelFile { Config = ck.Config, Shape = ck.Shape, Fingerprint = ck.Fingerprint, Prepared = ck.Prepared, Mode = ck.Mode, Parameters = ck.Parameters,
            Checkpoint = s with { Progress = s.Progress with { Device = "gpu" } } }.Write(path);
        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2", "--device", "cpu");
        Assert.That(code, Is.Zero, err);
        Assert.That(err.Split('\n').Where(l => l.Contains("warning")).ToArray(),
            Has.Length.EqualTo(1).And.All.Contains("trained on gpu and continues on cpu").And.All.Contains("not bit-identical"));
        Assert.That(ModelFile.Read(path).Checkpoint!.Progress.Device, Is.EqualTo("cpu"));
    }

    [TestCase("--lr", "0.1")]
    [TestCase("--eval-every", "3")]
    [TestCase("--eval-every", "0")]
    public void ResumeRefusesChangedTrainingOptions(string option, string value)
    {
        Assert.That(Cli(Train()).Code, Is.Zero);
        byte[] checkpoint = File.ReadAllBytes(Path.Combine(RunDir, RunFolder.CheckpointFileName));
        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.TrimEnd(), Does.StartWith($"alpine train: {option} cannot change when resuming").And.Not.Contain("\n"));
        Assert.That(File.ReadAllBytes(Path.Combine(RunDir, RunFolder.CheckpointFileName)), Is.EqualTo(checkpoint), "untouched");
    }

    [Test]
    public void EvalEveryValidatesEveryNStepsAndResumeKeepsIt()
    {
        var (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--epochs", "1", "--batch", "16", "--eval-every", "2", "--patience", "1000");
        Assert.That(code, Is.Zero, err);
        string log = Path.Combine(RunDir, RunFolder.LogFileName), ckPath = Path.Combine(RunDir, RunFolder.CheckpointFileName);
        var ck = ModelFile.Read(ckPath).Checkpoint!.Progress;
        Assert.That(ck.Options.EvalEvery, Is.EqualTo(2));
        long afterOne = ck.Step;
        Assert.That(afterOne, Is.GreaterThan(4), "the premise: several rounds in an epoch");
        long[] Steps() => File.ReadAllLines(log).Skip(1).Select(l => long.Parse(l.Split(',')[0])).ToArray();
        // Steps 2, 4, … and the epoch's (the last) last step.
        Assert.That(Steps(), Is.EqualTo(Enumerable.Range(1, (int)afterOne / 2).Select(k => 2L * k).Append(afterOne).Distinct()));

        // --resume takes --eval-every from the checkpoint: the second epoch's rounds still fall every 2 steps.
        (code, err) = Cli("train", "--data", _data, "--out", RunDir, "--resume", "--epochs", "2");
        Assert.That(code, Is.Zero, err);
        ck = ModelFile.Read(ckPath).Checkpoint!.Progress;
        Assert.That((ck.Epoch, ck.Options.EvalEvery), Is.EqualTo((2, 2)));
        var later = Steps().Where(s => s > afterOne).ToArray();
        Assert.That(later[^1], Is.EqualTo(ck.Step));
        Assert.That(later[..^1], Is.All.Matches<long>(s => s % 2 == 0));
        Assert.That(later, Has.Length.GreaterThan(1));
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
        string model = Path.Combine(RunDir, RunFolder.ModelFileName);
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
