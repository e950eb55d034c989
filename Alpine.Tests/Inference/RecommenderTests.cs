using Alpine.Data;
using Alpine.Inference;
using Alpine.Model;
using Alpine.Tests.Train;
using Alpine.Train;

namespace Alpine.Tests.Inference;

[TestFixture]
public class RecommenderTests
{
    private static readonly int[] Candidates = [3, 17, 0, 39, 8, 21];

    [Test]
    public void RanksEveryCandidateBestFirstAndScoresDoNotDependOnTheOthers()
    {
        var data = TinyData.Prepare(seed: 5);
        using var backend = TinyData.Backend(data, TinyData.Config());
        var rec = new Recommender(data, backend, BatchMode.SharedPrefix);
        var ranked = rec.Rank(2, Candidates);
        Assert.That(ranked.Select(r => r.Item), Is.EquivalentTo(Candidates));
        Assert.That(ranked.Select(r => r.Probability), Is.Ordered.Descending);
        Assert.That(ranked.All(r => r.Probability is > 0f and < 1f));
        Assert.That(ranked.Select(r => r.Probability).Distinct().Count(), Is.GreaterThan(1), "the item matters");
        foreach (var r in ranked)
            Assert.That(rec.Rank(2, [r.Item])[0].Probability, Is.EqualTo(r.Probability), $"item {r.Item} alone");
        Assert.That(rec.Rank(4, Candidates).Select(r => r.Probability), Is.Not.EquivalentTo(ranked.Select(r => r.Probability)),
            "another user's history gives other scores");
    }

    [Test]
    public void WindowAndSharedPrefixAgreeWhileTheHistoryFitsTheWindowAndDifferBeyond()
    {
        var data = TinyData.Prepare(seed: 5);
        int user = Enumerable.Range(0, data.UserCount).MaxBy(u => data.ClickSequences.Length(u));
        int clicks = data.ClickSequences.Length(user);
        Assert.That(clicks, Is.GreaterThan(4), "the tiny data gives some user a few clicks (else the W = 3 case below proves nothing)");

        float[] Scores(int window, BatchMode mode)
        {
            using var backend = TinyData.Backend(data, TinyData.Config(Variant.UM, window: window));
            return new Recommender(data, backend, mode).Rank(user, Candidates).OrderBy(r => r.Item).Select(r => r.Probability).ToArray();
        }

        Assert.That(Scores(300, BatchMode.Window), Is.EqualTo(Scores(300, BatchMode.SharedPrefix)).Within(1e-5f), "SPEC D12");
        Assert.That(Scores(3, BatchMode.Window), Is.Not.EqualTo(Scores(3, BatchMode.SharedPrefix)).Within(1e-5f),
            "beyond W, Window re-encodes only the W most recent items");
    }

    [Test]
    public void RefusesUnknownUserAndItemNamingThem()
    {
        var data = TinyData.Prepare(seed: 5);
        using var backend = TinyData.Backend(data, TinyData.Config());
        var rec = new Recommender(data, backend, BatchMode.SharedPrefix);
        Assert.That(() => rec.Rank(data.UserCount, [1]), Throws.TypeOf<UsageException>().With.Message.Contains($"user {data.UserCount}"));
        Assert.That(() => rec.Rank(0, [1, data.ItemCount]), Throws.TypeOf<UsageException>().With.Message.Contains($"item {data.ItemCount}"));
        Assert.That(rec.Rank(0, []), Is.Empty);
    }

    [Test]
    public void ACandidateListedTwiceIsRankedOnce()
    {
        // Once: `rank --candidates 3,3,3` listed item 3 three times.
        var data = TinyData.Prepare(seed: 5);
        using var backend = TinyData.Backend(data, TinyData.Config());
        var rec = new Recommender(data, backend, BatchMode.SharedPrefix);
        Assert.That(rec.Rank(2, [3, 3, 3]).Select(r => r.Item), Is.EqualTo(new[] { 3 }));
        var once = rec.Rank(2, [17, 3, 0]);
        Assert.That(rec.Rank(2, [17, 3, 17, 0, 3]), Is.EqualTo(once), "same scores, same order");
    }
}
