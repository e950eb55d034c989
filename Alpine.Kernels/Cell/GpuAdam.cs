using Alpine.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>The Adam step of <see cref="Alpine.Model.Adam"/> (SPEC D11) over device buffers.</summary>
public static class GpuAdam
{
    /// <summary>Global-norm clipping, then Adam on p with moments m, v (in place); returns ‖g‖ before clipping.</summary>
    public static float Step(KernelSet k, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v,
        DeviceArray<float> partials, in AdamSettings s, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), "Adam steps are 1-based");
        float norm = k.GlobalNorm(g, partials);
        float scale = s.ClipNorm > 0 && float.IsFinite(s.ClipNorm) && norm > s.ClipNorm ? s.ClipNorm / norm : 1f;
        var args = new AdamArgs
        {
            LearningRate = s.LearningRate, Beta1 = s.Beta1, Beta2 = s.Beta2, Epsilon = s.Epsilon, Scale = scale,
            C1 = 1f / (1f - MathF.Pow(s.Beta1, step)), C2 = 1f / (1f - MathF.Pow(s.Beta2, step)),
        };
        // No Synchronize: the host packs the next batch while Adam runs; any later copy waits for it.
        if (p.Length > 0) k.Adam((int)p.Length, args, p, g, m, v);
        return norm;
    }
}
