using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// The impressions of one prepared data set as <see cref="Target"/>s: each impression's user, item and the clicks
/// its user made strictly before it (SPEC D2, <see cref="PreparedData.ClickHistEnd"/>), cut to a window.
/// </summary>
public sealed class ImpressionTargets
{
    public ImpressionTargets(PreparedData data)
    {
        Data = data;
        UserOf = new int[data.ImpressionCount];
        for (int u = 0; u < data.UserCount; u++) UserOf.AsSpan(data.UserOffsets[u], data.UserOffsets[u + 1] - data.UserOffsets[u]).Fill(u);
    }

    public PreparedData Data { get; }
    /// <summary>(N) the user of each impression.</summary>
    public int[] UserOf { get; }

    public bool Clicked(int position) => (Data.Flags[position] & InteractionLog.ClickFlag) != 0;

    /// <summary>Impression <paramref name="position"/> with its <paramref name="window"/> most recent earlier clicks.</summary>
    public Target At(int position, int window)
    {
        int u = UserOf[position], end = Data.ClickHistEnd[position], start = Math.Max(0, end - window);
        return new Target(u, Data.Item[position], Data.ClickItem.AsSpan(Data.ClickOffsets[u] + start, end - start));
    }

    /// <summary>The positions of one split part, in impression order.</summary>
    public int[] Positions(SplitPart part) => Enumerable.Range(0, Data.ImpressionCount).Where(p => Data.Part[p] == part).ToArray();
}
