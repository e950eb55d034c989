using System.Diagnostics;
using System.Globalization;
using Alpine.Tests.Cli;
using Alpine.Train;

namespace Alpine.Tests.Distributed;

/// <summary>
/// <c>mpirun -np 2 alpine train --distributed</c> on a tiny data folder, as a user runs it: the run one process
/// trains on the same batches within 1e-6, the same bits on a rerun, resume with the same rank count only, and a
/// rank that fails stops the job with one line. Needs Open MPI's mpirun (.ci/run installs it).
/// </summary>
[TestFixture, NonParallelizable]
public class MpiTrainTests
{
    private string _root = "", _data = "";

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        if (Mpirun is null)
            Assert.Ignore("Open MPI's mpirun is not on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it)");
        _root = TestDirs.Create();
        _data = TrainCommandTests.WriteData(Path.Combine(_root, "data"), seed: 41);
    }

    [OneTimeTearDown] public void OneTimeTearDown() { if (_root != "") TestDirs.Delete(_root); }

    private static string? Mpirun => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    /// <summary>A fresh run of 2 epochs unless <paramref name="extra"/> says how many.</summary>
    private string[] Train(string run, params string[] extra) =>
        ["train", "--data", _data, "--out", run, .. extra.Contains("--epochs") ? extra : ["--epochs", "2", .. extra],
         "--batch", "32", "--piece", "8", "--threads", "1", "--device", "cpu"];

    /// <summary>Runs <c>alpine ARGS</c> on <paramref name="ranks"/> ranks of mpirun.</summary>
    private static (int Code, string Out, string Err) Mpi(int ranks, params string[] args) => Mpi([.. Program(ranks), .. args]);

    /// <summary>mpirun's words for <paramref name="ranks"/> ranks of <c>alpine</c>, to be followed by its arguments.</summary>
    private static string[] Program(int ranks)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        return ["-np", ranks.ToString(CultureInfo.InvariantCulture), host, Path.Combine(AppContext.BaseDirectory, "alpine.dll")];
    }

    /// <summary>Runs mpirun with <paramref name="args"/> (one program, or several separated by ":").</summary>
    private static (int Code, string Out, string Err) Mpi(string[] args)
    {
        var psi = new ProcessStartInfo(Mpirun!) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--oversubscribe");
        if (Environment.UserName == "root") psi.ArgumentList.Add("--allow-run-as-root");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000)) { p.Kill(entireProcessTree: true); Assert.Fail($"mpirun {string.Join(' ', args)} ran past 180 s"); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static float[] Parameters(string run, string file = RunFolder.CheckpointFileName) => ModelFile.Read(Path.Combine(run, file)).Parameters;

    /// <summary>The train_log.csv column <paramref name="name"/>, one value per validation round.</summary>
    private static double[] Column(string run, string name)
    {
        var lines = File.ReadAllLines(Path.Combine(run, RunFolder.LogFileName));
        int c = Array.IndexOf(lines[0].Split(','), name);
        return [.. lines.Skip(1).Select(l => double.Parse(l.Split(',')[c], CultureInfo.InvariantCulture))];
    }

    [Test]
    public void TwoRanksTrainAsOneProcessAndRerunToTheBit()
    {
        string one = Path.Combine(_root, "one"), two = Path.Combine(_root, "two"), again = Path.Combine(_root, "again");
        var single = AlpineProcess.Run(Train(one));
        Assert.That(single.Code, Is.EqualTo(0), single.Err);
        var mpi = Mpi(2, Train(two, "--distributed"));
        Assert.That(mpi.Code, Is.EqualTo(0), mpi.Err);
        Assert.That(Mpi(2, Train(again, "--distributed")).Code, Is.EqualTo(0));

        Assert.That(Parameters(again), Is.EqualTo(Parameters(two)), "a rerun with 2 ranks is bit-identical");
        Assert.That(File.ReadAllBytes(Path.Combine(again, RunFolder.ModelFileName)), Is.EqualTo(File.ReadAllBytes(Path.Combine(two, RunFolder.ModelFileName))));
        double[] lossOne = Column(one, "loss"), lossTwo = Column(two, "loss");
        Assert.That(lossTwo, Has.Length.EqualTo(lossOne.Length).And.Length.EqualTo(2));
        for (int i = 0; i < lossOne.Length; i++)
            Assert.That(Math.Abs(lossTwo[i] - lossOne[i]), Is.LessThanOrEqualTo(1e-6 * lossOne[i] + 5e-7), "the log keeps 6 decimals");
        float[] a = Parameters(one), b = Parameters(two);
        double d = DataParallelTests.RelativeDistance(b, a);
        TestContext.Out.WriteLine($"2 ranks vs one process after {Column(one, "step")[^1]} steps: ‖Δp‖/‖p‖ = {d:E2}");
        Assert.That(d, Is.LessThanOrEqualTo(1e-6));
        Assert.That(mpi.Out.Split('\n').Count(l => l.Contains("done (2 epochs)")), Is.EqualTo(1), "rank 0 alone prints");
    }

    [Test]
    public void ResumeContinuesWithTheSameRankCountOnlyAndToTheBit()
    {
        string whole = Path.Combine(_root, "whole"), split = Path.Combine(_root, "split"), single = Path.Combine(_root, "single");
        Assert.That(Mpi(2, Train(whole, "--distributed")).Code, Is.EqualTo(0));
        Assert.That(Mpi(2, Train(split, "--distributed", "--epochs", "1")).Code, Is.EqualTo(0));
        string[] resume = ["train", "--data", _data, "--out", split, "--resume", "--epochs", "2", "--threads", "1"];

        var alone = AlpineProcess.Run(resume);
        Assert.That(alone.Code, Is.EqualTo(2));
        Assert.That(alone.Err.Trim(), Does.Match(@"^alpine train: \S+checkpoint\.alp was trained by 2 ranks; resume it with mpirun -np 2 … --distributed \(this is 1\)"));
        var three = Mpi(3, [.. resume, "--distributed"]);
        Assert.That(three.Code, Is.Not.EqualTo(0));
        Assert.That(three.Err, Does.Contain("was trained by 2 ranks").And.Contain("(this is 3)"));

        var resumed = Mpi(2, [.. resume, "--distributed"]);
        Assert.That(resumed.Code, Is.EqualTo(0), resumed.Err);
        Assert.That(Parameters(split), Is.EqualTo(Parameters(whole)), "resumed with 2 ranks = uninterrupted with 2 ranks");
        Assert.That(Parameters(split, RunFolder.ModelFileName), Is.EqualTo(Parameters(whole, RunFolder.ModelFileName)));

        Assert.That(AlpineProcess.Run(Train(single, "--epochs", "1")).Code, Is.EqualTo(0));
        var refused = Mpi(2, ["train", "--data", _data, "--out", single, "--resume", "--epochs", "2", "--distributed"]);
        Assert.That(refused.Code, Is.Not.EqualTo(0));
        Assert.That(refused.Err, Does.Contain("was trained by one process; resume it without mpirun and --distributed"));
    }

    [Test]
    public void ARankThatFailsStopsTheOthersWithOneLine()
    {
        string run = Path.Combine(_root, "failing"), missing = Path.Combine(_root, "no-such-data");
        var clock = Stopwatch.StartNew();
        var r = Mpi([.. Program(1), .. Train(run, "--distributed"), ":", .. Program(1), "train", "--data", missing, "--out", run, "--distributed"]);
        Assert.That(r.Code, Is.Not.EqualTo(0));
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(120), "rank 0 did not wait for ever");
        var ours = r.Err.Split('\n').Where(l => l.StartsWith("alpine train:", StringComparison.Ordinal)).ToArray();
        Assert.That(ours, Has.Length.EqualTo(1), r.Err);
        Assert.That(ours[0], Does.StartWith("alpine train: rank 1 of 2: ").And.Contain("no-such-data").And.EndWith("; stopping every rank"));
        Assert.That(File.Exists(Path.Combine(run, RunFolder.ModelFileName)), Is.False);
    }

    [Test]
    public void DistributedOutsideMpirunIsRefused()
    {
        var r = AlpineProcess.Run(Train(Path.Combine(_root, "nompi"), "--distributed"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err.Trim(), Is.EqualTo("alpine train: --distributed trains across the ranks of Open MPI's mpirun: mpirun -np N alpine train --distributed …"));
    }
}
