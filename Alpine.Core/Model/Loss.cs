using System.Numerics;

namespace Alpine.Model;

/// <summary>
/// Fusion of the branch logits (SPEC D10) and the loss (SPEC "Loss"): mean BCE-with-logits plus L2 on
/// the Weight and Recurrent tensors only.
/// </summary>
public static class Loss
{
    /// <summary>ŷ[b] = Σ_k α_k ŷ_k[b] over the K computed branches (a dropped branch has no row here).</summary>
    public static void FusionForward<T>(Span<T> logits /*(B)*/, ReadOnlySpan<T> branchLogits /*(K,B)*/, ReadOnlySpan<T> alphas /*(K)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int b = logits.Length;
        logits.Clear();
        for (int k = 0; k < alphas.Length; k++)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(branchLogits.Slice(k * b, b), alphas[k], logits, logits);
    }

    /// <summary>dŷ_k = α_k dŷ (assigned).</summary>
    public static void FusionBackward<T>(Span<T> dbranchLogits /*(K,B)*/, ReadOnlySpan<T> dlogits /*(B)*/, ReadOnlySpan<T> alphas /*(K)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int b = dlogits.Length;
        for (int k = 0; k < alphas.Length; k++)
            System.Numerics.Tensors.TensorPrimitives.Multiply(dlogits, alphas[k], dbranchLogits.Slice(k * b, b));
    }

    /// <summary>Mean over targets of max(ŷ,0) − ŷ·y + log(1 + e^{−|ŷ|}), the form that never overflows; summed in float64.</summary>
    public static double BceForward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<float> labels) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double sum = 0;
        for (int b = 0; b < logits.Length; b++)
        {
            double z = double.CreateTruncating(logits[b]);
            sum += Math.Max(z, 0) - z * labels[b] + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        }
        return logits.Length == 0 ? 0 : sum / logits.Length;
    }

    /// <summary>dŷ[b] = (σ(ŷ[b]) − y[b]) / B (assigned).</summary>
    public static void BceBackward<T>(Span<T> dlogits, ReadOnlySpan<T> logits, ReadOnlySpan<float> labels) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T inv = T.One / T.CreateTruncating(logits.Length);
        for (int b = 0; b < logits.Length; b++)
        {
            T z = logits[b];
            T e = T.Exp(-T.Abs(z)); // σ in the form that never overflows
            T p = z >= T.Zero ? T.One / (T.One + e) : e / (T.One + e);
            dlogits[b] = (p - T.CreateTruncating(labels[b])) * inv;
        }
    }

    /// <summary>Whether L2 applies to a tensor: weight and recurrent matrices, not biases or embeddings (SPEC "Loss").</summary>
    public static bool HasL2(TensorSlot s) => s.Kind is TensorKind.Weight or TensorKind.Recurrent;

    /// <summary>
    /// λ·½·Σw² over the L2 tensors, summed in float64. The ½ is TensorFlow's <c>tf.nn.l2_loss</c> convention,
    /// which the reference code's λ = 5e-5 was tuned with; its gradient is then simply λ·w.
    /// </summary>
    public static double L2Forward<T>(ParameterLayout layout, ReadOnlySpan<T> parameters, float lambda) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (lambda == 0) return 0;
        double sum = 0;
        foreach (TensorSlot s in layout.Slots)
            if (HasL2(s))
                foreach (T w in parameters.Slice(s.Offset, s.Size)) { double x = double.CreateTruncating(w); sum += x * x; }
        return 0.5 * lambda * sum;
    }

    /// <summary>dW += λ·w for the L2 tensors.</summary>
    public static void L2Backward<T>(Span<T> gradients, ParameterLayout layout, ReadOnlySpan<T> parameters, float lambda) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (lambda == 0) return;
        T l = T.CreateTruncating(lambda);
        foreach (TensorSlot s in layout.Slots)
            if (HasL2(s))
            {
                Span<T> g = gradients.Slice(s.Offset, s.Size);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(parameters.Slice(s.Offset, s.Size), l, g, g);
            }
    }
}
