using Alpine.Data;
using Alpine.Eval;
using Alpine.Train;

namespace Alpine.Tests.Train;

[TestFixture]
public class TrainLogTests
{
    private string _dir = "", _log = "";

    [SetUp] public void SetUp() { _dir = TestDirs.Create(); _log = Path.Combine(_dir, RunFolder.LogFileName); }
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private static string RowAt(long step, int epoch) => $"{step},{epoch},0.5,0.6,0.6,0.6,0.7,0.1,0.2,0.15,100,40,1.5";

    [Test]
    public void ANewLogIsTheHeaderAndRowsAppendWholeLines()
    {
        TrainLog.StartAt(_log, 0);
        TrainLog.Append(_log, RowAt(2, 1));
        TrainLog.Append(_log, RowAt(4, 2));
        Assert.That(File.ReadAllText(_log), Is.EqualTo($"{TrainLog.Header}\n{RowAt(2, 1)}\n{RowAt(4, 2)}\n"));
    }

    [Test]
    public void ResumingKeepsTheRowsUpToTheCheckpointsStep()
    {
        TrainLog.StartAt(_log, 0);
        foreach (var (step, epoch) in new[] { (2L, 1), (4L, 2), (6L, 3) }) TrainLog.Append(_log, RowAt(step, epoch));
        TrainLog.StartAt(_log, 4);
        Assert.That(File.ReadAllLines(_log), Is.EqualTo(new[] { TrainLog.Header, RowAt(2, 1), RowAt(4, 2) }));
    }

    [Test]
    public void ATornLastRowIsDroppedAndTheNextAppendStartsOnItsOwnLine()
    {
        TrainLog.StartAt(_log, 0);
        TrainLog.Append(_log, RowAt(2, 1));
        File.AppendAllText(_log, "4,2,0.4"); // an append a crash cut short: no newline
        TrainLog.StartAt(_log, 10);
        TrainLog.Append(_log, RowAt(4, 2));
        Assert.That(File.ReadAllLines(_log), Is.EqualTo(new[] { TrainLog.Header, RowAt(2, 1), RowAt(4, 2) }));
    }

    [Test]
    public void AMalformedRowIsRefusedNamingItsLine()
    {
        File.WriteAllText(_log, $"{TrainLog.Header}\n{RowAt(2, 1)}\nx,1,2\n{RowAt(4, 2)}\n");
        var e = Assert.Throws<DataFormatException>(() => TrainLog.StartAt(_log, 4))!;
        Assert.That(e.Message, Does.Contain(_log).And.Contain("3").And.Contain("malformed row 'x,1,2'"));
        Assert.That(File.ReadAllText(_log), Does.Contain("x,1,2"), "the log is left as it was");
    }

    [Test]
    public void AForeignHeaderIsRefused()
    {
        File.WriteAllText(_log, "a,b,c\n1,2,3\n");
        var e = Assert.Throws<DataFormatException>(() => TrainLog.StartAt(_log, 0))!;
        Assert.That(e.Message, Does.Contain("expected the header"));
    }

    [Test]
    public void ARowHasTheHeadersColumnsAndBlanksForUndefinedMetrics()
    {
        var v = new MetricReport
        {
            Impressions = 10, Users = 2, AucUser = 0.75, AucUsers = 2, AucGlobal = double.NaN, GAuc = 0.5, LogLoss = 0.693147,
            ClickUsers = 1, Ks = [10, 50], Precision = [0.1, 0.2], Recall = [0.3, 0.4], F1 = [0.5, 0.25],
        };
        var p = new TrainingProgress { Options = new TrainOptions(), Step = 8, RoundLossSum = 3, RoundTargets = 4, RoundCellSteps = 12 };
        string row = TrainLog.Row(p, 2, v, 123.44, 1.23456);
        Assert.That(row, Is.EqualTo("8,2,0.75,0.75,,0.5,0.693147,0.2,0.4,0.25,123.4,12,1.235"));
        Assert.That(row.Split(',').Length, Is.EqualTo(TrainLog.Header.Split(',').Length));
    }
}
