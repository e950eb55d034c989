using Alpine.Cpu;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Tests.Prep;

namespace Alpine.Tests.Train;

/// <summary>Tiny random prepared data sets and models, for batching and trainer tests (seconds each).</summary>
internal static class TinyData
{
    public const int FeatureDim = 8; // ≤ 64 dims: preparation keeps them as they are (SPEC D3)

    /// <summary>
    /// A random log: users with 12…<paramref name="maxPerUser"/> impressions at strictly increasing timestamps
    /// (so each user's last 20% are the test part, in generation order), clicks depending on a hidden taste so
    /// there is something to learn, likes and follows on some clicks.
    /// </summary>
    public static InteractionLog Log(int seed, int users, int maxPerUser, int items = 40)
    {
        var rng = new Random(seed);
        var log = new InteractionLog();
        for (int u = 0; u < users; u++)
        {
            int n = rng.Next(12, maxPerUser + 1);
            long t = 1000 * u;
            for (int k = 0; k < n; k++)
            {
                int item = rng.Next(items);
                bool click = rng.NextDouble() < ((item + u) % 3 == 0 ? 0.8 : 0.2);
                log.Add(u, item, t += 1 + rng.Next(3), click, click && rng.NextDouble() < 0.3, click && rng.NextDouble() < 0.1);
            }
        }
        return log;
    }

    public static float[] Features(int seed, int items = 40)
    {
        var rng = new Random(seed + 1000);
        return Enumerable.Range(0, items * FeatureDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Prepared data; with <paramref name="categories"/> (one per item) the thacil profile.</summary>
    public static PreparedData Prepare(InteractionLog log, float[] features, string fingerprint = "tiny", int[]? categories = null,
        PrepareOptions? options = null) =>
        PreparedData.FromLog(log, new ArrayFeatureRows(features, FeatureDim), categories, options ?? new PrepareOptions(), fingerprint);

    public static PreparedData Prepare(int seed, int users = 6, int maxPerUser = 30, bool thacil = false) =>
        Prepare(Log(seed, users, maxPerUser), Features(seed), categories: thacil ? Enumerable.Range(0, 40).Select(i => i % 5).ToArray() : null);

    public static ModelConfig Config(Variant variant = Variant.Alpine, int window = 300, Profile profile = Profile.Kuaishou) =>
        new() { Profile = profile, Variant = variant, VisualDim = FeatureDim, CategoryDim = 3, Hidden = 6, MlpHidden = 5, Window = window };

    public static CpuBackend Backend(PreparedData data, ModelConfig config, ulong seed = 7)
    {
        var layout = ModelLayout.Create(config, data.UserCount, data.CategoryCount);
        var p = ParameterInit.Create(config, layout, data.Items, data.LikesFollows, seed);
        return new CpuBackend(config, data.Items, data.UserCount, p, threads: 1);
    }
}
