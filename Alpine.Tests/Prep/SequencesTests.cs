using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class SequencesTests
{
    private sealed record Grouped(int[] Offsets, int[] Item, long[] Ts, byte[] Flags, SplitPart[] Part);

    private static Grouped Group(InteractionLog log)
    {
        var s = Splitter.Split(log);
        return new Grouped(s.UserOffsets, s.Order.Select(i => log.Items[i]).ToArray(),
            s.Order.Select(i => log.Timestamps[i]).ToArray(), s.Order.Select(i => log.Flags(i)).ToArray(), s.Part);
    }

    [Test]
    public void HandMadeUserWithTiedTimestamps()
    {
        var log = new InteractionLog();
        // (ts, click): (1,C) (2,N) (2,C) (2,N) (3,C) (5,N); items 0..5
        log.Add(0, 0, 1, true, false, false);
        log.Add(0, 1, 2, false, false, false);
        log.Add(0, 2, 2, true, false, false);
        log.Add(0, 3, 2, false, false, false);
        log.Add(0, 4, 3, true, false, false);
        log.Add(0, 5, 5, false, false, false);
        var g = Group(log);
        var c = Sequences.Build(g.Offsets, g.Item, g.Ts, g.Flags, clicked: true);
        var n = Sequences.Build(g.Offsets, g.Item, g.Ts, g.Flags, clicked: false);
        Assert.That(c.Item, Is.EqualTo(new[] { 0, 2, 4 }));
        Assert.That(n.Item, Is.EqualTo(new[] { 1, 3, 5 }));
        // Impressions at ts 2 see only the ts-1 click, never each other.
        Assert.That(c.HistEnd, Is.EqualTo(new[] { 0, 1, 1, 1, 2, 3 }));
        Assert.That(n.HistEnd, Is.EqualTo(new[] { 0, 0, 0, 0, 2, 2 }));
    }

    [Test]
    public void HistoryEndsEqualBruteForceCountsOnRandomLogs()
    {
        var rng = new Random(7);
        var log = new InteractionLog();
        for (int i = 0; i < 900; i++) log.Add(rng.Next(8), rng.Next(40), rng.Next(60), rng.Next(3) == 0, false, false);
        var g = Group(log);
        foreach (bool clicked in new[] { true, false })
        {
            var seq = Sequences.Build(g.Offsets, g.Item, g.Ts, g.Flags, clicked);
            for (int u = 0; u < log.UserCount; u++)
            {
                var mine = Enumerable.Range(g.Offsets[u], g.Offsets[u + 1] - g.Offsets[u]).ToArray();
                var kind = mine.Where(p => ((g.Flags[p] & InteractionLog.ClickFlag) != 0) == clicked).ToArray();
                Assert.That(seq.Item[seq.Offsets[u]..seq.Offsets[u + 1]], Is.EqualTo(kind.Select(p => g.Item[p])));
                foreach (int p in mine)
                    Assert.That(seq.HistEnd[p], Is.EqualTo(kind.Count(q => g.Ts[q] < g.Ts[p])), $"user {u} impression {p}");
            }
        }
    }

    [Test]
    public void UserWithOnlyNotClicksHasAnEmptyClickSequence()
    {
        var log = new InteractionLog();
        for (int i = 0; i < 4; i++) log.Add(0, i, i, false, false, false);
        log.Add(1, 9, 0, true, false, false);
        var g = Group(log);
        var c = Sequences.Build(g.Offsets, g.Item, g.Ts, g.Flags, clicked: true);
        Assert.That(c.Offsets[1] - c.Offsets[0], Is.Zero);
        Assert.That(c.HistEnd[..4], Is.All.Zero);
        var n = Sequences.Build(g.Offsets, g.Item, g.Ts, g.Flags, clicked: false);
        Assert.That(n.HistEnd[..4], Is.EqualTo(new[] { 0, 1, 2, 3 }));
    }

    [TestCase(0, 300, 0, 0)]
    [TestCase(5, 3, 2, 5)]
    [TestCase(2, 300, 0, 2)]
    [TestCase(301, 300, 1, 301)]
    public void WindowKeepsTheMostRecentW(int end, int w, int start, int expectedEnd) =>
        Assert.That(Sequences.Window(end, w), Is.EqualTo((start, expectedEnd)));

    [Test]
    public void LikesAndFollowsComeFromTheTrainPartOnly()
    {
        var log = new InteractionLog();
        // 20 impressions: train 0..14, validation 15, test 16..19; all clicked, every one liked, odd ones followed.
        for (int i = 0; i < 20; i++) log.Add(0, i, i, true, true, i % 2 == 1);
        log.Add(1, 50, 0, false, false, false);
        var g = Group(log);
        var lf = Sequences.LikesFollows(g.Offsets, g.Item, g.Flags, g.Part);
        Assert.That(lf.UserCount, Is.EqualTo(2));
        Assert.That(lf.LikedItems[lf.LikedOffsets[0]..lf.LikedOffsets[1]], Is.EqualTo(Enumerable.Range(0, 15)));
        Assert.That(lf.FollowedItems[lf.FollowedOffsets[0]..lf.FollowedOffsets[1]], Is.EqualTo(Enumerable.Range(0, 15).Where(i => i % 2 == 1)));
        Assert.That(lf.LikedOffsets[2] - lf.LikedOffsets[1], Is.Zero);
    }
}
