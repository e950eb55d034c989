using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Cpu;

/// <summary>Tiny configurations, item tables and SharedPrefix-like batches for the whole-model tests.</summary>
internal static class TinyModel
{
    public const int Users = 3, Items = 12, Categories = 4;

    /// <summary>D = 5 (kuaishou: 5 visual dims; thacil: 2 category + 3 visual), H = 6 (5 for scaled dot, which needs H = D), M = 4.</summary>
    public static ModelConfig Config(Variant variant, CStarReading cstar = CStarReading.Neighbor, AttentionKind attention = AttentionKind.Bilinear,
        Profile profile = Profile.Kuaishou, int topL = 1) => new()
    {
        Profile = profile,
        Variant = variant,
        VisualDim = profile == Profile.Thacil ? 3 : 5,
        CategoryDim = 2,
        Hidden = attention == AttentionKind.ScaledDot ? 5 : 6,
        MlpHidden = 4,
        TopL = topL,
        CStar = cstar,
        Attention = attention,
        // All three branches live in both profiles (thacil's default α3 = 0 would drop the user matrix).
        Alphas = [0.5f, 0.3f, 0.2f],
        L2 = 1e-2f, // large enough that a wrong L2 gradient shows
    };

    public static ItemTable ItemTable(ModelConfig c, int seed = 5)
    {
        var r = new Random(seed);
        float[] visual = Enumerable.Range(0, Items * c.VisualDim).Select(_ => (float)(2 * r.NextDouble() - 1)).ToArray();
        int[]? category = c.Profile == Profile.Thacil ? Enumerable.Range(0, Items).Select(i => i % Categories).ToArray() : null;
        return new ItemTable(visual, c.VisualDim, category, c.Profile == Profile.Thacil ? Categories : 0);
    }

    public static LikeFollowLists LikeFollow() => new([0, 2, 2, 3], [1, 4, 7], [0, 1, 1, 3], [2, 9, 4]);

    /// <summary>
    /// Sequences of the given lengths (items drawn from the seed), each position's L graph predecessors drawn from
    /// k ≤ t−2 (position 1 → 0, position 0 → none; SPEC D4), padded with −1.
    /// </summary>
    public static SequenceSet Sequences(int[] lengths, int topL, int seed)
    {
        var r = new Random(seed);
        int[] offsets = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) offsets[s + 1] = offsets[s] + lengths[s];
        int[] items = Enumerable.Range(0, offsets[^1]).Select(_ => r.Next(Items)).ToArray();
        int[] pred = Enumerable.Repeat(-1, offsets[^1] * topL).ToArray();
        for (int s = 0; s < lengths.Length; s++)
            for (int t = 1; t < lengths[s]; t++)
            {
                int[] candidates = t == 1 ? [0] : Enumerable.Range(0, t - 1).OrderBy(_ => r.Next()).ToArray();
                for (int l = 0; l < Math.Min(topL, candidates.Length); l++) pred[(offsets[s] + t) * topL + l] = candidates[l];
            }
        return new SequenceSet(offsets, items, pred, topL);
    }

    /// <summary>
    /// Three users' click and not-click sequences (one empty), seven targets in SharedPrefix style: windows of one
    /// sequence overlap, one window is empty, one user has several targets (fan-in into one user row).
    /// </summary>
    public static Batch Batch(int topL = 1, int seed = 9) => new()
    {
        Clicks = Sequences([7, 5, 0], topL, seed),
        NotClicks = Sequences([4, 6, 2], topL, seed + 1),
        TargetUser = [0, 0, 0, 1, 1, 2, 2],
        TargetItem = [3, 8, 11, 0, 5, 6, 3],
        Label = [1, 0, 1, 1, 0, 0, 1],
        ClickSeq = [0, 0, 0, 1, 1, 2, 2],
        ClickStart = [0, 2, 1, 0, 3, 0, 0],
        ClickEnd = [3, 7, 5, 0, 4, 0, 0],
        NotClickSeq = [0, 0, 0, 1, 1, 2, 2],
        NotClickStart = [0, 1, 0, 0, 2, 0, 1],
        NotClickEnd = [2, 4, 0, 6, 6, 2, 2],
    };

    public static float[] Parameters(ModelConfig c, ParameterLayout layout, ItemTable items, ulong seed = 1) =>
        ParameterInit.Create(c, layout, items, LikeFollow(), seed);

    public static double[] ToDouble(float[] a) => a.Select(x => (double)x).ToArray();
}
