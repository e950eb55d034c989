using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Alpine.Cpu;

/// <summary>
/// Vector512 helpers for T ∈ {float, double}: the few operations the BCL offers only per element type,
/// dispatched on typeof(T), which the JIT folds to one branch-free path per instantiation.
/// </summary>
internal static class Simd<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Width => Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T[] a, int i)
    {
        Debug.Assert(i >= 0 && i + Vector512<T>.Count <= a.Length);
        return Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<T> v, T[] a, int i)
    {
        Debug.Assert(i >= 0 && i + Vector512<T>.Count <= a.Length);
        v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)i);
    }

    /// <summary>x·y + z, rounded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException($"Simd supports float and double, not {typeof(T).Name}");
    }

    /// <summary>
    /// e^x. Float on AVX-512 takes <see cref="ExpFloat"/> (inlined, no widening to double); double keeps the
    /// BCL's, which the finite-difference checks run on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
            return (Avx512F.IsSupported ? ExpFloat(x.AsSingle()) : ExpPortable(x.AsSingle())).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Exp(x.AsDouble()).As<double, T>();
        throw new NotSupportedException($"Simd supports float and double, not {typeof(T).Name}");
    }

    /// <summary>
    /// e^x in float where AVX-512F is not there: the BCL's, after <see cref="ExpFloat"/>'s clamp to [−104, 88.72]
    /// (so never ∞, and NaN in gives the bound on x86, as there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpPortable(Vector512<float> x) =>
        Vector512.Exp(Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(-104f)), Vector512.Create(88.72f)));

    /// <summary>1 / x: on AVX-512 float, the 14-bit estimate plus one Newton step (≈ 1 ulp, no divide).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Reciprocal(Vector512<T> x)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            var d = x.AsSingle();
            var r = Avx512F.Reciprocal14(d);
            // r' = r + r·(1 − d·r): the error of r squared, each product rounded once.
            return Vector512.FusedMultiplyAdd(r, Vector512.FusedMultiplyAdd(-d, r, Vector512<float>.One), r).As<float, T>();
        }
        return Vector512<T>.One / x;
    }

    /// <summary>σ(x) = 1 / (1 + e^−x): one exp and one reciprocal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Sigmoid(Vector512<T> x) => OneOverOnePlusExp(-x);

    /// <summary>1 / (1 + e^y), i.e. σ(−y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> OneOverOnePlusExp(Vector512<T> y) => Reciprocal(Vector512<T>.One + Exp(y));

    /// <summary>
    /// tanh(x) = 2σ(2x) − 1: one exp instead of two; its absolute error is a few ulps of 1, which is all
    /// an LSTM state needs (the derivative used in backward is 1 − tanh², of this same value).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh(Vector512<T> x)
    {
        // −2x and 2σ are exact (doublings), so σ(2x) = 1 / (1 + e^(−2x)) and the fused 2σ − 1, rounded once, are
        // the bits of σ(2x) and 2σ − 1 evaluated step by step.
        var two = Vector512.Create(T.One + T.One);
        return Fma(two, OneOverOnePlusExp(x * -two), -Vector512<T>.One);
    }

    /// <summary>
    /// e^x in float, 16 lanes, within ~2 ulp of the correctly rounded value over the whole float range
    /// (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·ln2 is exact), e^r by a
    /// degree-7 polynomial, then ·2^n by vscalefps, which also rounds gradual underflow correctly. x is first
    /// clamped to [−104, 88.72]: below, e^x is 0 in float anyway; above, the result stays the largest finite
    /// value instead of ∞, so 1 + e^x and its reciprocal never make a NaN. NaN in gives the clamp's bound.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpFloat(Vector512<float> x)
    {
        x = Avx512F.Min(Avx512F.Max(x, Vector512.Create(-104f)), Vector512.Create(88.72f));
        // n = round(x·log2 e), by the 1.5·2²³ trick (round-to-nearest in the add).
        var shifter = Vector512.Create(12582912f);
        var n = Vector512.FusedMultiplyAdd(x, Vector512.Create(1.44269504088896341f), shifter) - shifter;
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        return Avx512F.Scale(p, n);
    }

    /// <summary>
    /// The 16 × 16 float block in <paramref name="v"/> (row r in v[r]) transposed in place (column j into v[j]),
    /// through <paramref name="u"/>: lanes interleaved in pairs, then in pairs of pairs, then 128-bit quarters
    /// exchanged twice (AVX-512F).
    /// </summary>
    public static unsafe void Transpose16(Vector512<float>* v, Vector512<float>* u)
    {
        for (int p = 0; p < 16; p += 2)
        {
            u[p] = Avx512F.UnpackLow(v[p], v[p + 1]);
            u[p + 1] = Avx512F.UnpackHigh(v[p], v[p + 1]);
        }
        for (int q = 0; q < 16; q += 4)
        {
            v[q] = Avx512F.UnpackLow(u[q].AsDouble(), u[q + 2].AsDouble()).AsSingle();
            v[q + 1] = Avx512F.UnpackHigh(u[q].AsDouble(), u[q + 2].AsDouble()).AsSingle();
            v[q + 2] = Avx512F.UnpackLow(u[q + 1].AsDouble(), u[q + 3].AsDouble()).AsSingle();
            v[q + 3] = Avx512F.UnpackHigh(u[q + 1].AsDouble(), u[q + 3].AsDouble()).AsSingle();
        }
        for (int g = 0; g < 16; g += 8)
            for (int j = 0; j < 4; j++)
            {
                u[g + j] = Avx512F.Shuffle4x128(v[g + j], v[g + 4 + j], 0x88);
                u[g + 4 + j] = Avx512F.Shuffle4x128(v[g + j], v[g + 4 + j], 0xDD);
            }
        for (int j = 0; j < 8; j++)
        {
            v[j] = Avx512F.Shuffle4x128(u[j], u[8 + j], 0x88);
            v[8 + j] = Avx512F.Shuffle4x128(u[j], u[8 + j], 0xDD);
        }
    }
}
