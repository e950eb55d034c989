using Alpine.Data;
using Alpine.Prep;
using Alpine.Reproduce;
using Alpine.Tests.Train;

namespace Alpine.Tests.Reproduce;

[TestFixture]
public class UserSubsetTests
{
    [Test]
    public void TheFirstUsersGetWhatPreparingTheirOwnImpressionsGives()
    {
        const int users = 3;
        var log = TinyData.Log(seed: 9, users: 7, maxPerUser: 30);
        var features = TinyData.Features(9);
        var whole = TinyData.Prepare(log, features);
        var subset = UserSubset.FirstUsers(whole, users);

        // The same users' impressions alone, prepared from scratch: split, sequences, histories and likes are per user.
        var own = new InteractionLog();
        for (int i = 0; i < log.Count; i++)
            if (log.Users[i] < users) own.Add(log.Users[i], log.Items[i], log.Timestamps[i], log.Click(i), log.Like(i), log.Follow(i));
        var alone = TinyData.Prepare(own, features);

        Assert.That(subset.UserCount, Is.EqualTo(users));
        Assert.That(whole.UserCount, Is.GreaterThan(users));
        Assert.That(subset.UserOffsets, Is.EqualTo(alone.UserOffsets));
        Assert.That(subset.Item, Is.EqualTo(alone.Item));
        Assert.That(subset.Timestamp, Is.EqualTo(alone.Timestamp));
        Assert.That(subset.Flags, Is.EqualTo(alone.Flags));
        Assert.That(subset.Part, Is.EqualTo(alone.Part));
        Assert.That(subset.ClickOffsets, Is.EqualTo(alone.ClickOffsets));
        Assert.That(subset.ClickItem, Is.EqualTo(alone.ClickItem));
        Assert.That(subset.NotClickOffsets, Is.EqualTo(alone.NotClickOffsets));
        Assert.That(subset.NotClickItem, Is.EqualTo(alone.NotClickItem));
        Assert.That(subset.ClickHistEnd, Is.EqualTo(alone.ClickHistEnd));
        Assert.That(subset.NotClickHistEnd, Is.EqualTo(alone.NotClickHistEnd));
        Assert.That(subset.LikesFollows, Is.EqualTo(alone.LikesFollows).Using<LikeFollowLists>(SameLists));
        // The edges come from the whole data's PCA vectors (the alone data fitted its own PCA): each position's
        // predecessors are the whole data's for that user.
        Assert.That(subset.ClickGraphPred, Has.Length.EqualTo(subset.ClickItem.Length * subset.TopL));
        Assert.That(subset.ClickGraphPred, Is.EqualTo(whole.ClickGraphPred.AsSpan(0, subset.ClickGraphPred.Length).ToArray()));
        Assert.That(subset.Items, Is.SameAs(whole.Items), "the items stay");
        Assert.That(subset.Fingerprint, Is.Not.EqualTo(whole.Fingerprint).And.StartWith(whole.Fingerprint));
        Assert.That(UserSubset.FirstUsers(whole, whole.UserCount), Is.SameAs(whole));
        Assert.Throws<ArgumentOutOfRangeException>(() => UserSubset.FirstUsers(whole, 0));
    }

    private static bool SameLists(LikeFollowLists a, LikeFollowLists b) =>
        a.LikedOffsets.SequenceEqual(b.LikedOffsets) && a.LikedItems.SequenceEqual(b.LikedItems)
        && a.FollowedOffsets.SequenceEqual(b.FollowedOffsets) && a.FollowedItems.SequenceEqual(b.FollowedItems);
}
