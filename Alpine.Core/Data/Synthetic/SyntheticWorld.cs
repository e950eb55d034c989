using static Alpine.Data.Synthetic.SyntheticParameters;

namespace Alpine.Data.Synthetic;

/// <summary>
/// The items of the synthetic log (SPEC D17): C topics with centres in a k-d latent space, each item
/// a latent vector near its topic's centre, and how many impressions each user gets. Everything is
/// drawn from the seed's <see cref="SyntheticStream.World"/> stream, so it is the same for both
/// profiles; only the map to raw features (<see cref="SyntheticFeatures"/>) depends on the profile.
/// Holds items × k floats (311 MB for the paper preset), never the raw features (SPEC D18).
/// </summary>
public sealed class SyntheticWorld
{
    public long Seed { get; }
    public SyntheticSize Size { get; }

    /// <summary>Topic centres μ_c. // (C, k)</summary>
    public float[] TopicCentres { get; }
    /// <summary>The topic of each item (thacil: its category). // (items)</summary>
    public int[] TopicOfItem { get; }
    /// <summary>Item latents z_i = μ_c + ItemSpread·ε_i. // (items, k)</summary>
    public float[] Latents { get; }
    /// <summary>Items grouped by topic: topic c's items are TopicItems[TopicStart[c] .. TopicStart[c+1]).</summary>
    public int[] TopicStart { get; }
    public int[] TopicItems { get; }
    /// <summary>Impressions of each user; they sum to the preset's total. // (users)</summary>
    public int[] ImpressionsOfUser { get; }

    private SyntheticWorld(long seed, SyntheticSize size)
    {
        Seed = seed;
        Size = size;
        int n = size.Items, k = LatentDim;
        var rng = SyntheticRng.For(seed, SyntheticStream.World, 0);

        TopicCentres = new float[Topics * k];
        for (int i = 0; i < TopicCentres.Length; i++) TopicCentres[i] = (float)rng.Gaussian();

        // Unequal topic sizes, then each item's topic by inverse-CDF on the cumulative weights.
        var cumulative = new double[Topics];
        double total = 0;
        for (int c = 0; c < Topics; c++) { total += Gamma(ref rng, TopicSizeShape); cumulative[c] = total; }
        TopicOfItem = new int[n];
        Latents = new float[(long)n * k <= int.MaxValue ? n * k : throw new NotSupportedException("too many items for one latent array")];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble() * total;
            int c = Array.BinarySearch(cumulative, u);
            c = c >= 0 ? Math.Min(c + 1, Topics - 1) : ~c;
            TopicOfItem[i] = c;
            var z = Latents.AsSpan(i * k, k);
            var mu = TopicCentres.AsSpan(c * k, k);
            for (int j = 0; j < k; j++) z[j] = mu[j] + (float)(ItemSpread * rng.Gaussian());
        }

        TopicStart = new int[Topics + 1];
        foreach (int c in TopicOfItem) TopicStart[c + 1]++;
        for (int c = 0; c < Topics; c++) TopicStart[c + 1] += TopicStart[c];
        TopicItems = new int[n];
        var fill = TopicStart[..Topics];
        for (int i = 0; i < n; i++) TopicItems[fill[TopicOfItem[i]]++] = i;

        ImpressionsOfUser = SplitImpressions(ref rng, size.Users, size.Impressions);
    }

    /// <summary>Draws the items and user activity of a preset from a seed.</summary>
    public static SyntheticWorld Create(SyntheticPreset preset, long seed) => new(seed, SyntheticSize.Of(preset));

    /// <summary>Draws a world of any size (tests use odd sizes).</summary>
    public static SyntheticWorld Create(SyntheticSize size, long seed)
    {
        if (size.Users < 1 || size.Items < Topics || size.Impressions < size.Users)
            throw new ArgumentOutOfRangeException(nameof(size), $"need ≥ 1 user, ≥ {Topics} items and ≥ 1 impression per user");
        return new(seed, size);
    }

    public int ItemsInTopic(int c) => TopicStart[c + 1] - TopicStart[c];

    /// <summary>A uniformly chosen item of topic c (every topic has items when items ≫ C; an empty one falls back to any item).</summary>
    public int ItemOfTopic(ref SyntheticRng rng, int c)
    {
        int m = ItemsInTopic(c);
        return m > 0 ? TopicItems[TopicStart[c] + rng.NextInt(m)] : rng.NextInt(Size.Items);
    }

    /// <summary>
    /// Lognormal activity weights turned into whole counts that sum exactly to <paramref name="total"/>
    /// (each at least a fifth of the mean; largest remainders get the leftovers, ties to the lower id).
    /// </summary>
    private static int[] SplitImpressions(ref SyntheticRng rng, int users, long total)
    {
        var w = new double[users];
        double sum = 0;
        for (int u = 0; u < users; u++) { w[u] = Math.Exp(ActivitySigma * rng.Gaussian()); sum += w[u]; }
        long floor = Math.Max(1, total / users / 5);
        long spare = total - floor * users;
        var counts = new int[users];
        var remainder = new double[users];
        long given = 0;
        for (int u = 0; u < users; u++)
        {
            double share = spare * w[u] / sum;
            long whole = (long)Math.Floor(share);
            counts[u] = checked((int)(floor + whole));
            remainder[u] = share - whole;
            given += floor + whole;
        }
        var order = Enumerable.Range(0, users).OrderByDescending(u => remainder[u]).ThenBy(u => u).ToArray();
        for (long r = 0; given < total; r++, given++) counts[order[r % users]]++;
        return counts;
    }

    /// <summary>Gamma(shape ≥ 1, 1) by Marsaglia and Tsang.</summary>
    private static double Gamma(ref SyntheticRng rng, double shape)
    {
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = rng.Gaussian(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
