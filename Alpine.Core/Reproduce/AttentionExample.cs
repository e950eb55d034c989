using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Reproduce;

/// <summary>
/// What the paper's Fig. 7 shows: the attention weights of the click branch (SPEC D7) over one user's click sequence
/// for a few test targets. <see cref="Alpha"/>[t] covers click positions <see cref="Start"/>[t] … <see cref="End"/>[t]
/// − 1 of the user's sequence (the target's window, oldest first).
/// </summary>
public sealed record AttentionExample(int User, int[] Positions, int[] Items, bool[] Clicked, int[] Start, int[] End, float[][] Alpha)
{
    /// <summary>
    /// The example from <paramref name="model"/>: the user, among those with clicked and not-clicked test impressions,
    /// whose first test impression has the longest click history (the lowest id among equals), and up to
    /// <paramref name="targets"/> of that user's test impressions, half clicked where there are enough. Deterministic:
    /// the same model and data give the same figure. Null when no user has both kinds of test impression.
    /// </summary>
    public static AttentionExample? Of(AlpineRankingModel model, PreparedData data, int targets = 4)
    {
        int best = -1, bestHistory = -1;
        for (int u = 0; u < data.UserCount; u++)
        {
            var test = TestPositions(data, u);
            if (!test.Any(p => IsClick(data, p)) || test.All(p => IsClick(data, p))) continue;
            if (data.ClickHistEnd[test[0]] > bestHistory) (best, bestHistory) = (u, data.ClickHistEnd[test[0]]);
        }
        if (best < 0) return null;
        var all = TestPositions(data, best);
        var clicked = all.Where(p => IsClick(data, p)).Take((targets + 1) / 2).ToList();
        int[] positions = [.. clicked.Concat(all.Where(p => !IsClick(data, p)).Take(targets - clicked.Count)).Order()];
        var alpha = model.ClickAttention(data, positions);
        return new AttentionExample(best, positions, [.. positions.Select(p => data.Item[p])], [.. positions.Select(p => IsClick(data, p))],
            [.. alpha.Select(a => a.Start)], [.. positions.Select((p, t) => alpha[t].Start + alpha[t].Alpha.Length)], [.. alpha.Select(a => a.Alpha)]);
    }

    private static int[] TestPositions(PreparedData data, int u) =>
        [.. Enumerable.Range(data.UserOffsets[u], data.UserOffsets[u + 1] - data.UserOffsets[u]).Where(p => data.Part[p] == SplitPart.Test)];

    private static bool IsClick(PreparedData data, int p) => (data.Flags[p] & InteractionLog.ClickFlag) != 0;
}
