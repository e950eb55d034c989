using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class SplitterTests
{
    /// <summary>Reference: sort each user's rows by (timestamp, row) with LINQ, split by decimal floor.</summary>
    private static (int[] Order, SplitPart[] Part) Reference(InteractionLog log)
    {
        var order = new List<int>();
        var part = new List<SplitPart>();
        for (int u = 0; u < log.UserCount; u++)
        {
            var rows = Enumerable.Range(0, log.Count).Where(i => log.Users[i] == u)
                .OrderBy(i => log.Timestamps[i]).ThenBy(i => i).ToArray();
            int nTrain = log.HasSplit ? rows.Count(i => log.Splits[i] == SplitPart.Train) : (int)Math.Floor(0.8m * rows.Length);
            int nVal = (int)Math.Floor(0.1m * nTrain);
            var parts = rows.Select((i, k) => log.HasSplit ? log.Splits[i] : k < nTrain ? SplitPart.Train : SplitPart.Test).ToArray();
            // The validation part: the chronologically last nVal train rows.
            var trainPositions = Enumerable.Range(0, rows.Length).Where(k => parts[k] == SplitPart.Train).ToArray();
            foreach (int k in trainPositions[^nVal..]) parts[k] = SplitPart.Validation;
            order.AddRange(rows);
            part.AddRange(parts);
        }
        return (order.ToArray(), part.ToArray());
    }

    private static InteractionLog RandomLog(Random rng, int users, int rows, int tsRange, bool withSplit)
    {
        var log = new InteractionLog();
        for (int i = 0; i < rows; i++)
        {
            bool click = rng.Next(3) == 0;
            log.Add(rng.Next(users), rng.Next(50), rng.Next(tsRange), click, click && rng.Next(4) == 0, click && rng.Next(6) == 0,
                withSplit ? (rng.Next(5) == 0 ? SplitPart.Test : SplitPart.Train) : SplitPart.None);
        }
        return log;
    }

    [TestCase(1, false)]
    [TestCase(2, false)]
    [TestCase(3, true)]
    [TestCase(4, true)]
    public void MatchesAReferenceSortAndSplitOnRandomLogsWithManyTies(int seed, bool withSplit)
    {
        var log = RandomLog(new Random(seed), users: 9, rows: 700, tsRange: 40, withSplit);
        var s = Splitter.Split(log);
        var (order, part) = Reference(log);
        Assert.That(s.Order, Is.EqualTo(order));
        Assert.That(s.Part, Is.EqualTo(part));
        for (int u = 0; u < log.UserCount; u++)
            Assert.That(s.UserOffsets[u + 1] - s.UserOffsets[u], Is.EqualTo(order.Count(i => log.Users[i] == u)));
    }

    [Test]
    public void EqualTimestampsKeepInputOrder()
    {
        var log = new InteractionLog();
        log.Add(0, 10, 5, true, false, false);
        log.Add(0, 11, 3, false, false, false);
        log.Add(1, 99, 0, false, false, false);
        log.Add(0, 12, 3, true, false, false);
        log.Add(0, 13, 1, false, false, false);
        log.Add(0, 14, 3, false, false, false);
        var s = Splitter.Split(log);
        var items = s.Order[s.UserOffsets[0]..s.UserOffsets[1]].Select(i => log.Items[i]).ToArray();
        Assert.That(items, Is.EqualTo(new[] { 13, 11, 12, 14, 10 }));
    }

    [TestCase(0, 0, 0, 0)]
    [TestCase(1, 0, 0, 1)]
    [TestCase(2, 1, 0, 1)]
    [TestCase(4, 3, 0, 1)]
    [TestCase(5, 4, 0, 1)]
    [TestCase(12, 9, 0, 3)]
    [TestCase(13, 9, 1, 3)]
    [TestCase(50, 36, 4, 10)]
    [TestCase(99, 72, 7, 20)]
    public void SplitsEachUserByCount(int n, int train, int validation, int test)
    {
        var log = new InteractionLog();
        log.Add(1, 0, 0, false, false, false); // user 1 fixes the user count; user 0 gets n rows
        for (int i = 0; i < n; i++) log.Add(0, i, 1000 - i, i % 3 == 0, false, false); // input order = reverse time
        var s = Splitter.Split(log);
        var p = s.Part[s.UserOffsets[0]..s.UserOffsets[1]];
        Assert.That(p.Count(x => x == SplitPart.Train), Is.EqualTo(train));
        Assert.That(p.Count(x => x == SplitPart.Validation), Is.EqualTo(validation));
        Assert.That(p.Count(x => x == SplitPart.Test), Is.EqualTo(test));
        // Chronological: train, then validation, then test.
        Assert.That(p.Select(x => (byte)x), Is.Ordered);
        var ts = s.Order[s.UserOffsets[0]..s.UserOffsets[1]].Select(i => log.Timestamps[i]).ToArray();
        Assert.That(ts, Is.Ordered);
    }

    [Test]
    public void UserWithOnlyNotClicksIsSplitLikeAnyOther()
    {
        var log = new InteractionLog();
        for (int i = 0; i < 20; i++) log.Add(0, i, i, click: false, false, false);
        var s = Splitter.Split(log);
        Assert.That(s.Part.Count(x => x == SplitPart.Train), Is.EqualTo(15));
        Assert.That(s.Part.Count(x => x == SplitPart.Validation), Is.EqualTo(1));
        Assert.That(s.Part.Count(x => x == SplitPart.Test), Is.EqualTo(4));
    }

    [Test]
    public void SourceSplitWinsEvenWhenTestComesFirst()
    {
        var log = new InteractionLog();
        // 11 train rows at late times, 3 test rows at early times.
        for (int i = 0; i < 3; i++) log.Add(0, i, i, true, false, false, SplitPart.Test);
        for (int i = 0; i < 11; i++) log.Add(0, 10 + i, 100 + i, false, false, false, SplitPart.Train);
        var s = Splitter.Split(log);
        var items = s.Order.Select(i => log.Items[i]).ToArray();
        Assert.That(s.Part[..3], Is.All.EqualTo(SplitPart.Test));
        Assert.That(items[..3], Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(s.Part[3..13], Is.All.EqualTo(SplitPart.Train));
        Assert.That(s.Part[13], Is.EqualTo(SplitPart.Validation), "floor(0.1·11) = 1: the latest train row");
        Assert.That(items[13], Is.EqualTo(20));
    }

    [Test]
    public void UsersWithoutImpressionsHaveEmptyRanges()
    {
        var log = new InteractionLog();
        log.Add(3, 0, 0, true, false, false);
        var s = Splitter.Split(log);
        Assert.That(s.UserCount, Is.EqualTo(4));
        Assert.That(s.UserOffsets, Is.EqualTo(new[] { 0, 0, 0, 0, 1 }));
    }
}
