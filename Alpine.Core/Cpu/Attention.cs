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
        if (n == 0) { f.Clear(); return; }
        Dots(alpha, hw, q);
        // Softmax shifted by the maximum so exp never overflows.
        T max = TensorPrimitives.Max<T>(alpha);
        TensorPrimitives.Subtract(alpha, max, alpha);
        TensorPrimitives.Exp(alpha, alpha);
        TensorPrimitives.Divide(alpha, TensorPrimitives.Sum<T>(alpha), alpha);
        WeightedSum(f, alpha, hw);
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
        if (n == 0) { dq.Clear(); return; }
        T dff = Dot(df, f);
        // ds for every position first: the n dot products are independent, so they overlap in the core,
        // where computing each one just before its row's update made every row wait on its own dot.
        Span<T> ds = n <= 1024 ? stackalloc T[n] : new T[n];
        Dots(ds, hw, df);
        for (int j = 0; j < n; j++) ds[j] = alpha[j] * (ds[j] - dff);
        WeightedSum(dq, ds, hw);
        // dh_j += α_j df + ds_j q.
        int w = Vector512<T>.Count;
        for (int j = 0; j < n; j++)
        {
            T a = alpha[j], sj = ds[j];
            Span<T> dhj = dhw.Slice(j * h, h);
            int k = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<T> av = Vector512.Create(a), sv = Vector512.Create(sj);
                for (; k <= h - w; k += w) Store(Simd<T>.Fma(Load(q, k), sv, Simd<T>.Fma(Load(df, k), av, Load(dhj, k))), dhj, k);
            }
            for (; k < h; k++) dhj[k] = T.FusedMultiplyAdd(q[k], sj, T.FusedMultiplyAdd(df[k], a, dhj[k]));
        }
    }

    /// <summary>
    /// s_j = h_j · q for the n rows of <paramref name="hw"/>, four rows at a time so their sums overlap in the
    /// core; each row's sum runs in the order <see cref="Dot"/>'s does, so the bits are its.
    /// </summary>
    private static void Dots<T>(Span<T> s /*(n)*/, ReadOnlySpan<T> hw /*(n,H)*/, ReadOnlySpan<T> q /*(H)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int h = q.Length, n = s.Length, w = Vector512<T>.Count, j = 0;
        if (Vector512.IsHardwareAccelerated && h % w == 0)
        {
            for (; j + 4 <= n; j += 4)
            {
                int o = j * h;
                Vector512<T> a0 = Vector512<T>.Zero, a1 = a0, a2 = a0, a3 = a0;
                for (int k = 0; k < h; k += w)
                {
                    Vector512<T> qv = Load(q, k);
                    a0 = Simd<T>.Fma(Load(hw, o + k), qv, a0);
                    a1 = Simd<T>.Fma(Load(hw, o + h + k), qv, a1);
                    a2 = Simd<T>.Fma(Load(hw, o + 2 * h + k), qv, a2);
                    a3 = Simd<T>.Fma(Load(hw, o + 3 * h + k), qv, a3);
                }
                s[j] = Vector512.Sum(a0); s[j + 1] = Vector512.Sum(a1); s[j + 2] = Vector512.Sum(a2); s[j + 3] = Vector512.Sum(a3);
            }
        }
        for (; j < n; j++) s[j] = Dot(hw.Slice(j * h, h), q);
    }

    /// <summary>f = Σ_j α_j h_j (assigned), accumulated in registers four vectors of columns at a time, each element in row order.</summary>
    private static void WeightedSum<T>(Span<T> f /*(H)*/, ReadOnlySpan<T> alpha /*(n)*/, ReadOnlySpan<T> hw /*(n,H)*/)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int h = f.Length, n = alpha.Length, w = Vector512<T>.Count;
        if (!Vector512.IsHardwareAccelerated || h % w != 0)
        {
            f.Clear();
            for (int j = 0; j < n; j++) AddScaled(f, alpha[j], hw.Slice(j * h, h));
            return;
        }
        for (int c = 0; c < h; c += 4 * w)
        {
            if (h - c >= 4 * w)
            {
                Vector512<T> y0 = Vector512<T>.Zero, y1 = y0, y2 = y0, y3 = y0;
                for (int j = 0, o = c; j < n; j++, o += h)
                {
                    Vector512<T> a = Vector512.Create(alpha[j]);
                    y0 = Simd<T>.Fma(Load(hw, o), a, y0);
                    y1 = Simd<T>.Fma(Load(hw, o + w), a, y1);
                    y2 = Simd<T>.Fma(Load(hw, o + 2 * w), a, y2);
                    y3 = Simd<T>.Fma(Load(hw, o + 3 * w), a, y3);
                }
                Store(y0, f, c); Store(y1, f, c + w); Store(y2, f, c + 2 * w); Store(y3, f, c + 3 * w);
                continue;
            }
            for (int v = c; v < h; v += w)
            {
                Vector512<T> y = Vector512<T>.Zero;
                for (int j = 0, o = v; j < n; j++, o += h) y = Simd<T>.Fma(Load(hw, o), Vector512.Create(alpha[j]), y);
                Store(y, f, v);
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
