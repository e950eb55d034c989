using System.Numerics;
using System.Numerics.Tensors;

namespace Alpine.Cpu;

/// <summary>
/// One prediction head (SPEC D8): z = ReLU(W1 u + b1), ŷ = W2 z + b2, where u = [f ; x_new] for the
/// interest and uninterest branches and u = [U[user] ; x_new] for the multi-level branch.
/// </summary>
public static class Mlp
{
    /// <summary>Forward for a block of rows; z keeps the post-ReLU activations for the backward.</summary>
    public static void Forward<T>(Span<T> y /*(R)*/, Span<T> z /*(R,M)*/, ReadOnlySpan<T> u /*(R,I)*/,
        ReadOnlySpan<T> w1 /*(M,I)*/, ReadOnlySpan<T> b1 /*(M)*/, ReadOnlySpan<T> w2 /*(1,M)*/, T b2)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int m = b1.Length;
        Linear.Forward(z, u, w1, b1, m);
        TensorPrimitives.Max(z, T.Zero, z);
        for (int r = 0; r < y.Length; r++) y[r] = TensorPrimitives.Dot(w2, z.Slice(r * m, m)) + b2;
    }

    /// <summary>
    /// The per-row half of the backward, for a block of rows: dz = dy·W2 ⊙ [z &gt; 0] (assigned) and
    /// du = dzᵀ W1 (assigned).
    /// </summary>
    public static void BackwardInput<T>(Span<T> du /*(R,I)*/, Span<T> dz /*(R,M)*/, ReadOnlySpan<T> dy /*(R)*/,
        ReadOnlySpan<T> z /*(R,M)*/, ReadOnlySpan<T> w1 /*(M,I)*/, ReadOnlySpan<T> w2 /*(1,M)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int m = w2.Length;
        for (int r = 0; r < dy.Length; r++)
        {
            ReadOnlySpan<T> zr = z.Slice(r * m, m);
            Span<T> dzr = dz.Slice(r * m, m);
            for (int k = 0; k < m; k++) dzr[k] = zr[k] > T.Zero ? dy[r] * w2[k] : T.Zero;
        }
        du.Clear();
        Linear.BackwardInput(du, dz, w1, m);
    }

    /// <summary>
    /// The per-weight half of the backward, for hidden units [k0, k1) (each a sum over all R rows in order):
    /// dW1[k,:] += Σ dz[r,k] u[r,:], db1[k] += Σ dz[r,k], dW2[k] += Σ dy[r] z[r,k]; the range holding
    /// unit 0 also adds db2 += Σ dy[r].
    /// </summary>
    public static void BackwardWeights<T>(Span<T> dw1, Span<T> db1, Span<T> dw2, Span<T> db2 /*(1)*/,
        ReadOnlySpan<T> dy /*(R)*/, ReadOnlySpan<T> dz /*(R,M)*/, ReadOnlySpan<T> z /*(R,M)*/, ReadOnlySpan<T> u /*(R,I)*/, int k0, int k1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int m = db1.Length;
        Linear.BackwardWeights(dw1, db1, dz, u, m, k0, k1);
        for (int k = k0; k < k1; k++)
        {
            T sum = T.Zero;
            for (int r = 0; r < dy.Length; r++) sum += dy[r] * z[r * m + k];
            dw2[k] += sum;
        }
        if (k0 == 0 && k1 > 0) db2[0] += TensorPrimitives.Sum(dy);
    }
}
