using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class DatasetStatsTests
{
    [Test]
    public void CountsTheRowsOfTable1OnAHandMadeLog()
    {
        var log = new InteractionLog();
        // user 0: 13 impressions over items 0..4 (3 clicks, one liked); user 2: 5 not-clicks on items 4..8; user 1 none.
        for (int i = 0; i < 13; i++) log.Add(0, i % 5, i, i < 3, i == 0, false);
        for (int i = 0; i < 5; i++) log.Add(2, 4 + i, i, false, false, false);
        var s = DatasetStats.Of(log, featureRows: 20);
        Assert.That(s.Users, Is.EqualTo(2), "users with at least one impression");
        Assert.That(s.Items, Is.EqualTo(9), "distinct items 0..8");
        Assert.That(s.Interactions, Is.EqualTo(18));
        Assert.That(s.InteractionTypes, Is.EqualTo(3), "click, not-click, like; no follow");
        Assert.That(s.AvgInteractionsPerUser, Is.EqualTo(9.0));
        Assert.That(s.AvgInteractionsPerItem, Is.EqualTo(2.0));
        Assert.That(s.AvgClickedItemsPerUser, Is.EqualTo(1.5));
        // user 0: 10 train (the last of them validation), 3 test; user 2: 4 train, 1 test.
        Assert.That((s.TrainInteractions, s.ValidationInteractions, s.TestInteractions), Is.EqualTo((14L, 1L, 4L)));
        Assert.That(s.Rows().Select(r => r.Label), Has.Exactly(9).Items);
        Assert.That(s.Rows().First(r => r.Label == "# interactions").Value, Is.EqualTo("18"));
    }
}
