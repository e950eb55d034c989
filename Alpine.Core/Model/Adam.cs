using System.Numerics.Tensors;

namespace Alpine.Model;

/// <summary>
/// The optimizer rule over flat buffers (SPEC D11), shared by both backends: global-norm clipping, then
/// Adam with bias correction. L2 is part of the loss (SPEC "Loss"), so it is already in the gradient.
/// </summary>
public static class Adam
{
    /// <summary>√Σg², accumulated in float64 over fixed chunks so the result never depends on threads.</summary>
    public static float GlobalNorm(ReadOnlySpan<float> g)
    {
        const int chunk = 4096;
        double sum = 0;
        for (int i = 0; i < g.Length; i += chunk) sum += TensorPrimitives.SumOfSquares(g.Slice(i, Math.Min(chunk, g.Length - i)));
        return (float)Math.Sqrt(sum);
    }

    /// <summary>
    /// One step t (1-based) on p, with moments m and v updated in place; g is read, not changed. Clipping
    /// scales g by clip/‖g‖ when ‖g‖ &gt; clip; a clip of 0 or ∞ turns it off. Returns ‖g‖ before clipping.
    /// </summary>
    public static float Step(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in AdamSettings s, int t)
    {
        if (g.Length != p.Length || m.Length != p.Length || v.Length != p.Length) throw new ArgumentException("p, g, m, v must have one length");
        if (t < 1) throw new ArgumentOutOfRangeException(nameof(t), "Adam steps are 1-based");
        float norm = GlobalNorm(g);
        float scale = s.ClipNorm > 0 && float.IsFinite(s.ClipNorm) && norm > s.ClipNorm ? s.ClipNorm / norm : 1f;
        float b1 = s.Beta1, b2 = s.Beta2;
        float c1 = 1f / (1f - MathF.Pow(b1, t)), c2 = 1f / (1f - MathF.Pow(b2, t));
        for (int i = 0; i < p.Length; i++)
        {
            float gi = g[i] * scale;
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            p[i] -= s.LearningRate * (m[i] * c1) / (MathF.Sqrt(v[i] * c2) + s.Epsilon);
        }
        return norm;
    }
}
