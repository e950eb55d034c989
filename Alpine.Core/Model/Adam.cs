using System.Numerics.Tensors;

namespace Alpine.Model;

/// <summary>
/// The optimizer rule over flat buffers (SPEC D11), shared by both backends: global-norm clipping, then
/// Adam with bias correction. L2 is part of the loss (SPEC "Loss"), so it is already in the gradient.
/// The step's scalars and the per-element update are <see cref="AdamStep"/>, which the GPU kernel calls too.
/// </summary>
public static class Adam
{
    /// <summary>Elements per partial sum of the global norm (the host's float64 chunks, the device's groups).</summary>
    public const int NormChunk = 4096;

    /// <summary>√Σg², accumulated in float64 over fixed chunks so the result never depends on threads.</summary>
    public static float GlobalNorm(ReadOnlySpan<float> g)
    {
        double sum = 0;
        for (int i = 0; i < g.Length; i += NormChunk) sum += TensorPrimitives.SumOfSquares(g.Slice(i, Math.Min(NormChunk, g.Length - i)));
        return (float)Math.Sqrt(sum);
    }

    /// <summary>
    /// One step t (1-based) on p, with moments m and v updated in place; g is read, not changed. Clipping
    /// scales g by clip/‖g‖ when ‖g‖ &gt; clip; a clip of 0 or ∞ turns it off. Returns ‖g‖ before clipping.
    /// </summary>
    public static float Step(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in AdamSettings s, int t)
    {
        if (g.Length != p.Length || m.Length != p.Length || v.Length != p.Length) throw new ArgumentException("p, g, m, v must have one length");
        float norm = GlobalNorm(g);
        AdamStep step = AdamStep.For(s, norm, t);
        for (int i = 0; i < p.Length; i++) step.Update(ref p[i], g[i], ref m[i], ref v[i]);
        return norm;
    }
}

/// <summary>
/// The scalars of one Adam step (SPEC D11) and its per-element update: the CPU loop (<see cref="Adam.Step"/>) and
/// the GPU kernel both call <see cref="Update"/>, so the two backends apply one rule. A plain struct of floats, so
/// it travels into a kernel as an argument.
/// </summary>
public struct AdamStep
{
    public float LearningRate, Beta1, Beta2, Epsilon;
    /// <summary>Gradient multiplier from global-norm clipping (1 when not clipped).</summary>
    public float Scale;
    /// <summary>1/(1−β1^t) and 1/(1−β2^t).</summary>
    public float C1, C2;

    /// <summary>Step t (1-based) of <paramref name="s"/> for a gradient of global norm <paramref name="norm"/>.</summary>
    public static AdamStep For(in AdamSettings s, float norm, int t)
    {
        if (t < 1) throw new ArgumentOutOfRangeException(nameof(t), "Adam steps are 1-based");
        return new AdamStep
        {
            LearningRate = s.LearningRate, Beta1 = s.Beta1, Beta2 = s.Beta2, Epsilon = s.Epsilon,
            Scale = s.ClipNorm > 0 && float.IsFinite(s.ClipNorm) && norm > s.ClipNorm ? s.ClipNorm / norm : 1f,
            C1 = 1f / (1f - MathF.Pow(s.Beta1, t)), C2 = 1f / (1f - MathF.Pow(s.Beta2, t)),
        };
    }

    /// <summary>One parameter: moments m, v and parameter p from its gradient g.</summary>
    public readonly void Update(ref float p, float g, ref float m, ref float v)
    {
        float gi = g * Scale;
        m = Beta1 * m + (1f - Beta1) * gi;
        v = Beta2 * v + (1f - Beta2) * gi * gi;
        p -= LearningRate * (m * C1) / (MathF.Sqrt(v * C2) + Epsilon);
    }
}
