using Alpine.Distributed;

namespace Alpine.Tests.Distributed;

[TestFixture]
public class StepTimesTests
{
    [Test]
    public void SummaryTakesEachStepsSlowestRankAndTheVolume()
    {
        // Rank 0 is slower at step 0 (0.3 vs 0.1 s), rank 1 at step 1 (0.4 vs 0.2 s): the critical path is 0.3 + 0.4.
        double[][] compute = [[0.3, 0.2], [0.1, 0.4]];
        var lines = ThreadRanks.Run(2, g =>
        {
            var t = new StepTimes();
            for (int s = 0; s < 2; s++) t.Add(compute[g.Rank][s], 0.001 * (g.Rank + 1));
            return t.Summary(g, gradientFloats: 250_000);
        });
        Assert.That(lines[1], Is.Null, "only rank 0 prints");
        Assert.That(lines[0], Does.Contain("2 ranks, 2 steps")
            .And.Contain("compute 350.0 ms a step on the slowest rank (250.0 mean")
            .And.Contain("exchange 2.00 ms")   // the larger of the ranks' exchange times
            .And.Contain("sends 1.00 MB and receives 1.00 MB"));
    }

    [Test]
    public void RanksThatRecordedDifferentStepCountsGiveNoSummary()
    {
        var lines = ThreadRanks.Run(2, g =>
        {
            var t = new StepTimes();
            for (int s = 0; s <= g.Rank; s++) t.Add(0.1, 0);
            return t.Summary(g, 10);
        });
        Assert.That(lines, Is.All.Null);
    }

    [Test]
    public void ProcessCpuTimeAdvancesWithWork()
    {
        double before = StepTimes.ProcessCpuSeconds();
        double x = 0;
        for (int i = 0; i < 20_000_000; i++) x += Math.Sqrt(i);
        Assert.That(x, Is.GreaterThan(0));
        Assert.That(StepTimes.ProcessCpuSeconds() - before, Is.GreaterThan(0.001));
    }
}
