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
        // The sequences list each user's clicked (not-clicked) impressions in impression order (Sequences.Build).
        ClickTime = new long[data.ClickItem.Length];
        NotClickTime = new long[data.NotClickItem.Length];
        int c = 0, nc = 0;
        for (int p = 0; p < data.ImpressionCount; p++)
            if (Clicked(p)) ClickTime[c++] = data.Timestamp[p]; else NotClickTime[nc++] = data.Timestamp[p];
        System.Diagnostics.Debug.Assert(c == ClickTime.Length && nc == NotClickTime.Length);
    }

    public PreparedData Data { get; }
    /// <summary>(N) the user of each impression.</summary>
    public int[] UserOf { get; }
    /// <summary>(nClicks) the timestamp of each click sequence entry; likewise for the not-clicks.</summary>
    public long[] ClickTime { get; }
    public long[] NotClickTime { get; }

    public bool Clicked(int position) => (Data.Flags[position] & InteractionLog.ClickFlag) != 0;

    /// <summary>Impression <paramref name="position"/> with its <paramref name="window"/> most recent earlier clicks and not-clicks.</summary>
    public Target At(int position, int window)
    {
        int u = UserOf[position];
        int end = Data.ClickHistEnd[position], start = Data.ClickOffsets[u] + Math.Max(0, end - window), n = Data.ClickOffsets[u] + end - start;
        int nEnd = Data.NotClickHistEnd[position], nStart = Data.NotClickOffsets[u] + Math.Max(0, nEnd - window), m = Data.NotClickOffsets[u] + nEnd - nStart;
        return new Target(u, Data.Item[position], Data.Timestamp[position],
            Data.ClickItem.AsSpan(start, n), ClickTime.AsSpan(start, n), Data.NotClickItem.AsSpan(nStart, m), NotClickTime.AsSpan(nStart, m));
    }

    /// <summary>The positions of one split part, in impression order.</summary>
    public int[] Positions(SplitPart part) => Enumerable.Range(0, Data.ImpressionCount).Where(p => Data.Part[p] == part).ToArray();
}
