using Alpine.Model;
using Alpine.Prep;
using Alpine.Serving;
using Alpine.Tests.Prep;
using Alpine.Tests.Train;

namespace Alpine.Tests.Serving;

/// <summary>Tiny prepared data and a served model over it, with the parameters a CpuBackend would get.</summary>
internal static class ServedModels
{
    /// <param name="features">40 items' visual rows of <c>config.VisualDim</c> floats; default TinyData's (8-d).</param>
    public static (PreparedData Data, ModelConfig Config, float[] Parameters) Tiny(int seed = 5, ModelConfig? config = null, bool thacil = false,
        string fingerprint = "tiny", float[]? features = null)
    {
        config ??= TinyData.Config(profile: thacil ? Alpine.Data.Profile.Thacil : Alpine.Data.Profile.Kuaishou);
        var data = PreparedData.FromLog(TinyData.Log(seed, 6, 30), new ArrayFeatureRows(features ?? TinyData.Features(seed), config.VisualDim),
            thacil ? Enumerable.Range(0, 40).Select(i => i % 5).ToArray() : null, new PrepareOptions(), fingerprint);
        var layout = ModelLayout.Create(config, data.UserCount, data.CategoryCount);
        var p = ParameterInit.Create(config, layout, data.Items, data.LikesFollows, 7);
        return (data, config, p);
    }

    public static AlpineModel Create(int seed = 5, ModelConfig? config = null, string? servingDir = null, bool thacil = false)
    {
        var (data, c, p) = Tiny(seed, config, thacil: thacil);
        return AlpineModel.Create(data, c, p, new ArrayFeatureRows(TinyData.Features(seed), TinyData.FeatureDim), servingDir, threads: 1);
    }

    /// <summary>A later impression of the user: after every one it has, on an item chosen by <paramref name="rng"/>.</summary>
    public static Observation Next(AlpineModel m, int user, Random rng, ref long clock) =>
        new(user, rng.Next(m.ItemCount), clock += 1 + rng.Next(3), rng.NextDouble() < 0.5);

    /// <summary>A clock after every prepared impression.</summary>
    public static long After(PreparedData d) => d.Timestamp.Max() + 1;
}
