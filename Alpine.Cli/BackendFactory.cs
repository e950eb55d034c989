using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Cli;

/// <summary>The one place the CLI picks a backend; the trainer and evaluator see only <see cref="IAlpineBackend"/>.</summary>
internal static class BackendFactory
{
    public static IAlpineBackend Create(ModelConfig config, PreparedData data, float[] parameters, int threads) =>
        new CpuBackend(config, data.Items, data.UserCount, parameters, threads);

    /// <summary>Fresh parameters from the seed (SPEC D11), with the user matrix from likes and follows (SPEC D9).</summary>
    public static float[] InitialParameters(ModelConfig config, PreparedData data, int seed) =>
        ParameterInit.Create(config, ModelLayout.Create(config, data.UserCount, data.CategoryCount), data.Items, data.LikesFollows, (ulong)seed);
}
