using Alpine.Tests.Cli;
using Alpine.Train;

namespace Alpine.Tests.Distributed;

/// <summary><c>alpine train --memory-gb</c>: a budget that cuts every batch into chunks trains the run the whole batches do.</summary>
[TestFixture]
public class MemoryBudgetTests
{
    private string _root = "", _data = "";

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        _root = TestDirs.Create();
        _data = TrainCommandTests.WriteData(Path.Combine(_root, "data"), seed: 43);
    }

    [OneTimeTearDown] public void OneTimeTearDown() => TestDirs.Delete(_root);

    private string[] Train(string run, params string[] extra) =>
        ["train", "--data", _data, "--out", Path.Combine(_root, run), "--mode", "window", "--epochs", "2", "--batch", "32", "--threads", "1", "--device", "cpu", .. extra];

    [Test]
    public void ABudgetOfOneCellStepTrainsTheWholeBatchRunWithin1e6()
    {
        Assert.That(TrainCommandTests.Cli(Train("whole")).Code, Is.EqualTo(0));
        // 1 KiB holds less than one cell-step: every target is a chunk of its own.
        var (code, err) = TrainCommandTests.Cli(Train("chunked", "--memory-gb", "0.000001"));
        Assert.That(code, Is.EqualTo(0), err);
        float[] a = ModelFile.Read(Path.Combine(_root, "whole", RunFolder.CheckpointFileName)).Parameters;
        float[] b = ModelFile.Read(Path.Combine(_root, "chunked", RunFolder.CheckpointFileName)).Parameters;
        double d = DataParallelTests.RelativeDistance(b, a);
        TestContext.Out.WriteLine($"chunked vs whole after 2 epochs: ‖Δp‖/‖p‖ = {d:E2}");
        Assert.That(d, Is.LessThanOrEqualTo(1e-6));
        Assert.That(b, Is.Not.EqualTo(a), "the budget did cut the batches");
    }

    [Test]
    public void ANegativeBudgetIsRefused()
    {
        var (code, err) = TrainCommandTests.Cli(Train("bad", "--memory-gb", "-1"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--memory-gb"));
    }
}
