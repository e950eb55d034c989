using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Alpine.Cpu;

/// <summary>
/// One prediction head (SPEC D8): z = ReLU(W1 u + b1), ŷ = W2 z + b2, where u = [f ; x_new] for the
/// interest and uninterest branches and u = [U[user] ; x_new] for the multi-level branch.
/// </summary>
public static class Mlp
{
    /// <summary>Forward for R rows; z keeps the post-ReLU activations for the backward.</summary>
    public static void Forward<T>(Span<T> y /*(R)*/, Span<T> z /*(R,M)*/, ReadOnlySpan<T> u /*(R,I)*/,
        ReadOnlySpan<T> w1 /*(M,I)*/, ReadOnlySpan<T> b1 /*(M)*/, ReadOnlySpan<T> w2 /*(1,M)*/, ReadOnlySpan<T> b2 /*(1)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Linear.Forward(z, u, w1, b1, b1.Length);
        TensorPrimitives.Max(z, T.Zero, z);
        Linear.Forward(y, z, w2, b2, 1);
    }

    /// <summary>
    /// Backward for R rows: du (assigned) and the weight gradients (accumulated). dz (R,M) is scratch:
    /// dz = dy·W2 ⊙ [z &gt; 0].
    /// </summary>
    public static void Backward<T>(Span<T> du /*(R,I)*/, Span<T> dw1, Span<T> db1, Span<T> dw2, Span<T> db2, Span<T> dz /*(R,M) scratch*/,
        ReadOnlySpan<T> dy /*(R)*/, ReadOnlySpan<T> z /*(R,M)*/, ReadOnlySpan<T> u /*(R,I)*/, ReadOnlySpan<T> w1 /*(M,I)*/, ReadOnlySpan<T> w2 /*(1,M)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int m = w2.Length, w = Vector512<T>.Count;
        for (int r = 0; r < dy.Length; r++)
        {
            ReadOnlySpan<T> zr = z.Slice(r * m, m);
            Span<T> dzr = dz.Slice(r * m, m);
            int k = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var dyr = Vector512.Create(dy[r]);
                for (; k <= m - w; k += w)
                {
                    var zk = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(zr), (nuint)k);
                    var wk = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(w2), (nuint)k);
                    Vector512.ConditionalSelect(Vector512.GreaterThan(zk, Vector512<T>.Zero), dyr * wk, Vector512<T>.Zero)
                        .StoreUnsafe(ref MemoryMarshal.GetReference(dzr), (nuint)k);
                }
            }
            for (; k < m; k++) dzr[k] = zr[k] > T.Zero ? dy[r] * w2[k] : T.Zero;
        }
        Linear.Backward<T>([], dw2, db2, dy, z, w2, 1);
        du.Clear();
        Linear.Backward(du, dw1, db1, dz, u, w1, m);
    }
}
