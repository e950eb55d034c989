using Alpine.Prep;

namespace Alpine.Reproduce;

/// <summary>
/// The prepared data at another graph neighbour count L (SPEC D4, the paper's Fig. 6): only the graph edges depend
/// on L, so they are rebuilt as <c>alpine prepare --top-l L</c> builds them, from the same split, PCA vectors and
/// sequences, in memory. The user's data folder and its cache are not touched, and no copy of the features is made.
/// </summary>
public static class NeighbourData
{
    public static PreparedData WithTopL(PreparedData data, int topL, CancellationToken ct = default)
    {
        if (topL == data.TopL) return data;
        var options = data.Options with { TopL = topL };
        options.Validate();
        int dv = data.Items.VisualDim;
        var click = TemporalGraph.BuildAll(data.ClickOffsets, data.ClickItem, data.Items.Visual, dv, topL, data.Metric, null, ct);
        var notClick = TemporalGraph.BuildAll(data.NotClickOffsets, data.NotClickItem, data.Items.Visual, dv, topL, data.Metric, null, ct);
        return new PreparedData
        {
            Profile = data.Profile, UserCount = data.UserCount, ItemCount = data.ItemCount, CategoryCount = data.CategoryCount,
            TopL = topL, Metric = data.Metric, Fingerprint = data.Fingerprint, Options = options, Items = data.Items,
            UserOffsets = data.UserOffsets, Item = data.Item, Timestamp = data.Timestamp, Flags = data.Flags, Part = data.Part,
            ClickOffsets = data.ClickOffsets, ClickItem = data.ClickItem, ClickGraphPred = click,
            NotClickOffsets = data.NotClickOffsets, NotClickItem = data.NotClickItem, NotClickGraphPred = notClick,
            ClickHistEnd = data.ClickHistEnd, NotClickHistEnd = data.NotClickHistEnd, LikesFollows = data.LikesFollows,
        };
    }
}
