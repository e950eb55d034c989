using System.Numerics;
using System.Numerics.Tensors;

namespace Alpine.Cpu;

/// <summary>
/// Attention pooling of one target over its window of hidden states (SPEC D7): s_j = h_j · q,
/// α = softmax(s) over the window's n positions, f = Σ α_j h_j. The query q is W_a x_new (bilinear, the
/// paper; computed by <see cref="Linear"/>) or x_new/√H (scaled dot, the reference code), so both kinds
/// share this pair. Positions outside the window are never read; an empty window gives f = 0.
/// </summary>
public static class Attention
{
    /// <summary>Forward for one target; α is kept for the backward.</summary>
    public static void Forward<T>(Span<T> f /*(H)*/, Span<T> alpha /*(n)*/, ReadOnlySpan<T> hw /*(n,H)*/, ReadOnlySpan<T> q /*(H)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int h = f.Length, n = alpha.Length;
        System.Diagnostics.Debug.Assert(hw.Length == n * h && q.Length == h);
        f.Clear();
        if (n == 0) return;
        for (int j = 0; j < n; j++) alpha[j] = TensorPrimitives.Dot(hw.Slice(j * h, h), q);
        // Softmax shifted by the maximum so exp never overflows.
        T max = TensorPrimitives.Max<T>(alpha);
        TensorPrimitives.Subtract(alpha, max, alpha);
        TensorPrimitives.Exp(alpha, alpha);
        TensorPrimitives.Divide(alpha, TensorPrimitives.Sum<T>(alpha), alpha);
        for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(hw.Slice(j * h, h), alpha[j], f, f);
    }

    /// <summary>
    /// Backward for one target: dh_j += α_j df + ds_j q (accumulated: in SharedPrefix mode many targets read
    /// the same positions, SPEC D12) and dq = Σ_j ds_j h_j (assigned), with ds_j = α_j (df·h_j − df·f).
    /// </summary>
    public static void Backward<T>(Span<T> dhw /*(n,H)*/, Span<T> dq /*(H)*/, ReadOnlySpan<T> df /*(H)*/,
        ReadOnlySpan<T> alpha /*(n)*/, ReadOnlySpan<T> hw /*(n,H)*/, ReadOnlySpan<T> q /*(H)*/, ReadOnlySpan<T> f /*(H)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int h = dq.Length, n = alpha.Length;
        dq.Clear();
        if (n == 0) return;
        T dff = TensorPrimitives.Dot(df, f);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<T> hj = hw.Slice(j * h, h);
            Span<T> dhj = dhw.Slice(j * h, h);
            T ds = alpha[j] * (TensorPrimitives.Dot(df, hj) - dff);
            TensorPrimitives.MultiplyAdd(df, alpha[j], dhj, dhj);
            TensorPrimitives.MultiplyAdd(q, ds, dhj, dhj);
            TensorPrimitives.MultiplyAdd(hj, ds, dq, dq);
        }
    }
}
