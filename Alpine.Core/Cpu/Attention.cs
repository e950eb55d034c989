using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Alpine.Cpu;

/// <summary>
/// Attention pooling of one target over its window of hidden states (SPEC D7): s_j = h_j · q,
/// α = softmax(s) over the window's n positions, f = Σ α_j h_j. The query q is W_a x_new (bilinear, the
/// paper; computed by <see cref="Linear"/>) or x_new/√H (scaled dot, the reference code), so both kinds
/// share this pair. Positions outside the window are never read; an empty window gives f = 0.
/// The per-position products are H long (64 by default), so they are inlined Vector512 loops here: a
/// <c>TensorPrimitives</c> call per position costs more in dispatch than in arithmetic, and this pair is a large
/// stage of a SharedPrefix train step. Each target's sums run in a fixed
/// order inside one thread, so results do not depend on the thread split (SPEC D13).
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
        for (int j = 0; j < n; j++) alpha[j] = Dot(hw.Slice(j * h, h), q);
        // Softmax shifted by the maximum so exp never overflows.
        T max = TensorPrimitives.Max<T>(alpha);
        TensorPrimitives.Subtract(alpha, max, alpha);
        TensorPrimitives.Exp(alpha, alpha);
        TensorPrimitives.Divide(alpha, TensorPrimitives.Sum<T>(alpha), alpha);
        for (int j = 0; j < n; j++) AddScaled(f, alpha[j], hw.Slice(j * h, h));
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
        T dff = Dot(df, f);
        // ds for every position first: the n dot products are independent, so they overlap in the core,
        // where computing each one just before its row's update made every row wait on its own dot.
        Span<T> dsAll = n <= 1024 ? stackalloc T[n] : new T[n];
        for (int j = 0; j < n; j++) dsAll[j] = alpha[j] * (Dot(df, hw.Slice(j * h, h)) - dff);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<T> hj = hw.Slice(j * h, h);
            Span<T> dhj = dhw.Slice(j * h, h);
            T a = alpha[j], ds = dsAll[j];
            // dh_j += α_j df + ds_j q and dq += ds_j h_j in one pass over the row.
            int k = 0, w = Vector512<T>.Count;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<T> av = Vector512.Create(a), dsv = Vector512.Create(ds);
                for (; k <= h - w; k += w)
                {
                    Vector512<T> hv = Load(hj, k), dh = Load(dhj, k);
                    dh = Simd<T>.Fma(Load(q, k), dsv, Simd<T>.Fma(Load(df, k), av, dh));
                    Store(dh, dhj, k);
                    Store(Simd<T>.Fma(hv, dsv, Load(dq, k)), dq, k);
                }
            }
            for (; k < h; k++)
            {
                dhj[k] = T.FusedMultiplyAdd(q[k], ds, T.FusedMultiplyAdd(df[k], a, dhj[k]));
                dq[k] = T.FusedMultiplyAdd(hj[k], ds, dq[k]);
            }
        }
    }

    /// <summary>a · b over one H-long row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        System.Diagnostics.Debug.Assert(a.Length == b.Length);
        int h = a.Length, k = 0, w = Vector512<T>.Count;
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated && h >= w)
        {
            Vector512<T> acc = Vector512<T>.Zero;
            for (; k <= h - w; k += w) acc = Simd<T>.Fma(Load(a, k), Load(b, k), acc);
            sum = Vector512.Sum(acc);
        }
        for (; k < h; k++) sum = T.FusedMultiplyAdd(a[k], b[k], sum);
        return sum;
    }

    /// <summary>y += s · x over one H-long row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled<T>(Span<T> y, T s, ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        System.Diagnostics.Debug.Assert(y.Length == x.Length);
        int h = y.Length, k = 0, w = Vector512<T>.Count;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<T> sv = Vector512.Create(s);
            for (; k <= h - w; k += w) Store(Simd<T>.Fma(Load(x, k), sv, Load(y, k)), y, k);
        }
        for (; k < h; k++) y[k] = T.FusedMultiplyAdd(x[k], s, y[k]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Load<T>(ReadOnlySpan<T> a, int i) where T : unmanaged =>
        Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(a), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector512<T> v, Span<T> a, int i) where T : unmanaged =>
        v.StoreUnsafe(ref MemoryMarshal.GetReference(a), (nuint)i);
    }
