using Alpine.Prep;

namespace Alpine.Reproduce;

/// <summary>
/// The prepared data of its first users only (<c>alpine reproduce --users N</c>, and <c>--quick</c>'s smaller run):
/// users are dense ids whose impressions, sequences and likes are stored user after user (SPEC D1, D2), so the first
/// N users own a prefix of every per-user array, and their split, sequences, graph edges and histories are exactly
/// what the whole data gives them. The items, their PCA vectors and the prepare options stay those of the whole data.
/// </summary>
public static class UserSubset
{
    /// <summary>
    /// Users 0…<paramref name="users"/>−1 of <paramref name="data"/>; the data itself when it has no more. The
    /// fingerprint names the subset, so a run on it is never taken for a run on the whole data.
    /// </summary>
    public static PreparedData FirstUsers(PreparedData data, int users)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(users, 1);
        if (users >= data.UserCount) return data;
        int n = data.UserOffsets[users], clicks = data.ClickOffsets[users], notClicks = data.NotClickOffsets[users], l = data.TopL;
        var lf = data.LikesFollows;
        return new PreparedData
        {
            Profile = data.Profile, UserCount = users, ItemCount = data.ItemCount, CategoryCount = data.CategoryCount,
            TopL = data.TopL, Metric = data.Metric, Fingerprint = $"{data.Fingerprint}+first-{users}-users", Options = data.Options,
            Items = data.Items,
            UserOffsets = data.UserOffsets[..(users + 1)], Item = data.Item[..n], Timestamp = data.Timestamp[..n],
            Flags = data.Flags[..n], Part = data.Part[..n],
            ClickOffsets = data.ClickOffsets[..(users + 1)], ClickItem = data.ClickItem[..clicks], ClickGraphPred = data.ClickGraphPred[..(clicks * l)],
            NotClickOffsets = data.NotClickOffsets[..(users + 1)], NotClickItem = data.NotClickItem[..notClicks],
            NotClickGraphPred = data.NotClickGraphPred[..(notClicks * l)],
            ClickHistEnd = data.ClickHistEnd[..n], NotClickHistEnd = data.NotClickHistEnd[..n],
            LikesFollows = new LikeFollowLists(lf.LikedOffsets[..(users + 1)], lf.LikedItems[..lf.LikedOffsets[users]],
                lf.FollowedOffsets[..(users + 1)], lf.FollowedItems[..lf.FollowedOffsets[users]]),
        };
    }
}
