using Alpine.Data;

namespace Alpine.Prep;

/// <summary>
/// The rows of the paper's Table 1 for a data set. Users and items are those with at least one impression
/// (the paper counts "users and their interacted micro-videos"); the training set includes the validation
/// tail (SPEC D1 carves validation out of it).
/// </summary>
public sealed record DatasetStats(
    int Users, int Items, long Interactions, int InteractionTypes,
    double AvgInteractionsPerUser, double AvgInteractionsPerItem, double AvgClickedItemsPerUser,
    long TrainInteractions, long ValidationInteractions, long TestInteractions, int FeatureRows)
{
    /// <summary>From impressions grouped by user (<see cref="Splitter"/> order) and their parts.</summary>
    public static DatasetStats Compute(ReadOnlySpan<int> userOffsets, ReadOnlySpan<int> item, ReadOnlySpan<byte> flags,
        ReadOnlySpan<SplitPart> part, int featureRows)
    {
        int users = 0;
        for (int u = 0; u + 1 < userOffsets.Length; u++) if (userOffsets[u + 1] > userOffsets[u]) users++;
        var seen = new bool[featureRows];
        int items = 0;
        foreach (int i in item) if (!seen[i]) { seen[i] = true; items++; }
        long clicks = 0, notClicks = 0, likes = 0, follows = 0, train = 0, validation = 0, test = 0;
        for (int p = 0; p < item.Length; p++)
        {
            byte f = flags[p];
            if ((f & InteractionLog.ClickFlag) != 0) clicks++; else notClicks++;
            if ((f & InteractionLog.LikeFlag) != 0) likes++;
            if ((f & InteractionLog.FollowFlag) != 0) follows++;
            switch (part[p])
            {
                case SplitPart.Train: train++; break;
                case SplitPart.Validation: validation++; break;
                case SplitPart.Test: test++; break;
            }
        }
        int types = (clicks > 0 ? 1 : 0) + (notClicks > 0 ? 1 : 0) + (likes > 0 ? 1 : 0) + (follows > 0 ? 1 : 0);
        long n = item.Length;
        return new DatasetStats(users, items, n, types,
            users == 0 ? 0 : (double)n / users, items == 0 ? 0 : (double)n / items, users == 0 ? 0 : (double)clicks / users,
            train + validation, validation, test, featureRows);
    }

    public static DatasetStats Of(PreparedData d) => Compute(d.UserOffsets, d.Item, d.Flags, d.Part, d.ItemCount);

    /// <summary>From a raw log (split here; no PCA needed).</summary>
    public static DatasetStats Of(InteractionLog log, int featureRows)
    {
        var s = Splitter.Split(log);
        var item = new int[log.Count];
        var flags = new byte[log.Count];
        for (int p = 0; p < item.Length; p++) { item[p] = log.Items[s.Order[p]]; flags[p] = log.Flags(s.Order[p]); }
        return Compute(s.UserOffsets, item, flags, s.Part, featureRows);
    }

    /// <summary>(label, value) pairs in the order and wording of the paper's Table 1.</summary>
    public IEnumerable<(string Label, string Value)> Rows()
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        yield return ("# users", Users.ToString("N0", c));
        yield return ("# items", Items.ToString("N0", c));
        yield return ("# interactions", Interactions.ToString("N0", c));
        yield return ("# interaction types", InteractionTypes.ToString(c));
        yield return ("#average interactions per user", AvgInteractionsPerUser.ToString("F2", c));
        yield return ("#average interactions per item", AvgInteractionsPerItem.ToString("F2", c));
        yield return ("#average clicked items per user", AvgClickedItemsPerUser.ToString("F0", c));
        yield return ("#interactions in training set", TrainInteractions.ToString("N0", c));
        yield return ("#interactions in test set", TestInteractions.ToString("N0", c));
    }
}
