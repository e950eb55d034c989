namespace Alpine.Model;

/// <summary>Adam settings (SPEC D11).</summary>
public readonly record struct AdamSettings(
    float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-8f, float ClipNorm = 5f);

/// <summary>
/// The model computed by one backend over the flat parameter layout <see cref="Layout"/>; the CPU backend
/// (Alpine.Core/Cpu) and the GPU backend (Alpine.Kernels) implement it, so whole flat parameter and
/// gradient buffers compare directly. The trainer sees only this interface.
/// </summary>
public interface IAlpineBackend : IDisposable
{
    ModelConfig Config { get; }
    ParameterLayout Layout { get; }

    /// <summary>Forward only: writes one logit ŷ per target.</summary>
    void Predict(Batch batch, Span<float> logits);

    /// <summary>
    /// Forward and backward: writes the logits, adds d(loss)/dθ to the gradient buffer and returns the
    /// loss = mean BCE-with-logits + L2 term (SPEC "Loss").
    /// </summary>
    float ForwardBackward(Batch batch, Span<float> logits);

    void ZeroGradients();

    /// <summary>One Adam step (1-based <paramref name="step"/>) over the flat buffer, after global-norm
    /// clipping; returns the gradient's global norm before clipping.</summary>
    float Step(in AdamSettings settings, int step);

    void CopyParametersTo(Span<float> destination);
    void LoadParameters(ReadOnlySpan<float> source);
    void CopyGradientsTo(Span<float> destination);
    /// <summary>Adam's first and second moments, each <see cref="ParameterLayout.Size"/> long.</summary>
    void CopyOptimizerStateTo(Span<float> m, Span<float> v);
    void LoadOptimizerState(ReadOnlySpan<float> m, ReadOnlySpan<float> v);
}
