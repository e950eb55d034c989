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
    // ExpFloat's constants (Cephes expf), shared by its one-, two- and four-vector forms: the clamp, the rounding
    // shifter 1.5·2²³, log2 e, ln 2 split so that n·ln2 is exact, and the degree-7 polynomial's coefficients.
    private const float ExpLo = -104f, ExpHi = 88.72f, Shifter = 12582912f, Log2E = 1.44269504088896341f;
    private const float MinusLn2Hi = -0.693359375f, Ln2Lo = 2.12194440e-4f;
    private const float E7 = 1.9875691500e-4f, E6 = 1.3981999507e-3f, E5 = 8.3334519073e-3f, E4 = 4.1665795894e-2f, E3 = 1.6666665459e-1f, E2 = 5.0000001201e-1f;

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
        Vector512.Exp(Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(ExpLo)), Vector512.Create(ExpHi)));

    /// <summary>1 / x: on AVX-512 float, the 14-bit estimate plus one Newton step (≈ 1 ulp, no divide).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Reciprocal(Vector512<T> x)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            var d = x.AsSingle();
            return Newton(d, Avx512F.Reciprocal14(d)).As<float, T>();
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
        var a = ExpClamp(x);
        var n = ExpRound(a);
        var r = ExpReduce(a, n);
        var p = ExpHorner(Vector512.Create(E7), r, E6);
        p = ExpHorner(p, r, E5); p = ExpHorner(p, r, E4); p = ExpHorner(p, r, E3); p = ExpHorner(p, r, E2);
        return ExpFinish(p, r, n);
    }

    // ExpFloat's steps, each a few dependent operations: its one-, two- and four-vector forms run the same steps, the
    // latter two each step for every vector before the next step (the same operations: the same bits).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpClamp(Vector512<float> x) => Avx512F.Min(Avx512F.Max(x, Vector512.Create(ExpLo)), Vector512.Create(ExpHi));

    /// <summary>n = round(x·log2 e), by the 1.5·2²³ trick (round-to-nearest in the add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpRound(Vector512<float> a)
    {
        var shifter = Vector512.Create(Shifter);
        return Vector512.FusedMultiplyAdd(a, Vector512.Create(Log2E), shifter) - shifter;
    }

    /// <summary>r = x − n·ln 2, ln 2 in two parts so that n·ln2 is exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpReduce(Vector512<float> a, Vector512<float> n) =>
        Vector512.FusedMultiplyAdd(n, Vector512.Create(Ln2Lo), Vector512.FusedMultiplyAdd(n, Vector512.Create(MinusLn2Hi), a));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpHorner(Vector512<float> p, Vector512<float> r, float k) => Vector512.FusedMultiplyAdd(p, r, Vector512.Create(k));

    /// <summary>e^r = 1 + r + r²·p, then ·2^n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpFinish(Vector512<float> p, Vector512<float> r, Vector512<float> n) =>
        Avx512F.Scale(Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One, n);

    /// <summary>r' = r + r·(1 − d·r) for r ≈ 1/d: the error of r squared, each product rounded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Newton(Vector512<float> d, Vector512<float> r) =>
        Vector512.FusedMultiplyAdd(r, Vector512.FusedMultiplyAdd(-d, r, Vector512<float>.One), r);

    /// <summary>
    /// An LSTM cell's four gate activations in place: σ of <paramref name="i"/>, <paramref name="f"/> and
    /// <paramref name="o"/>, tanh of <paramref name="u"/>, each the bits of <see cref="Sigmoid"/> or <see cref="Tanh"/>.
    /// On AVX-512 float the four exps run interleaved step by step (<see cref="ExpFloat4"/>): each is a chain of ~20
    /// dependent operations, and written one after another a core overlaps only a few of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LstmGates(ref Vector512<T> i, ref Vector512<T> f, ref Vector512<T> o, ref Vector512<T> u)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            // −x and −2x are exact, as in Sigmoid and Tanh.
            var one = Vector512<float>.One;
            var ei = -i.AsSingle(); var ef = -f.AsSingle(); var eo = -o.AsSingle(); var eu = u.AsSingle() * Vector512.Create(-2f);
            ExpFloat4(ref ei, ref ef, ref eo, ref eu);
            ei += one; ef += one; eo += one; eu += one;
            Reciprocal4(ref ei, ref ef, ref eo, ref eu);
            i = ei.As<float, T>(); f = ef.As<float, T>(); o = eo.As<float, T>();
            u = Vector512.FusedMultiplyAdd(Vector512.Create(2f), eu, -one).As<float, T>();
            return;
        }
        i = Sigmoid(i); f = Sigmoid(f); o = Sigmoid(o); u = Tanh(u);
    }

    /// <summary>tanh of two vectors in place, each the bits of <see cref="Tanh"/>, the two exps interleaved on AVX-512 float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh2(ref Vector512<T> a, ref Vector512<T> b)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            var one = Vector512<float>.One;
            var minusTwo = Vector512.Create(-2f);
            var ea = a.AsSingle() * minusTwo; var eb = b.AsSingle() * minusTwo;
            ExpFloat2(ref ea, ref eb);
            ea += one; eb += one;
            Reciprocal2(ref ea, ref eb);
            a = Vector512.FusedMultiplyAdd(Vector512.Create(2f), ea, -one).As<float, T>();
            b = Vector512.FusedMultiplyAdd(Vector512.Create(2f), eb, -one).As<float, T>();
            return;
        }
        a = Tanh(a); b = Tanh(b);
    }

    /// <summary><see cref="ExpFloat"/> of four vectors in place, step by step interleaved: the same operations, the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpFloat4(ref Vector512<float> x0, ref Vector512<float> x1, ref Vector512<float> x2, ref Vector512<float> x3)
    {
        Vector512<float> a0 = ExpClamp(x0), a1 = ExpClamp(x1), a2 = ExpClamp(x2), a3 = ExpClamp(x3);
        Vector512<float> n0 = ExpRound(a0), n1 = ExpRound(a1), n2 = ExpRound(a2), n3 = ExpRound(a3);
        Vector512<float> r0 = ExpReduce(a0, n0), r1 = ExpReduce(a1, n1), r2 = ExpReduce(a2, n2), r3 = ExpReduce(a3, n3);
        var e7 = Vector512.Create(E7);
        Vector512<float> p0 = ExpHorner(e7, r0, E6), p1 = ExpHorner(e7, r1, E6), p2 = ExpHorner(e7, r2, E6), p3 = ExpHorner(e7, r3, E6);
        p0 = ExpHorner(p0, r0, E5); p1 = ExpHorner(p1, r1, E5); p2 = ExpHorner(p2, r2, E5); p3 = ExpHorner(p3, r3, E5);
        p0 = ExpHorner(p0, r0, E4); p1 = ExpHorner(p1, r1, E4); p2 = ExpHorner(p2, r2, E4); p3 = ExpHorner(p3, r3, E4);
        p0 = ExpHorner(p0, r0, E3); p1 = ExpHorner(p1, r1, E3); p2 = ExpHorner(p2, r2, E3); p3 = ExpHorner(p3, r3, E3);
        p0 = ExpHorner(p0, r0, E2); p1 = ExpHorner(p1, r1, E2); p2 = ExpHorner(p2, r2, E2); p3 = ExpHorner(p3, r3, E2);
        x0 = ExpFinish(p0, r0, n0); x1 = ExpFinish(p1, r1, n1); x2 = ExpFinish(p2, r2, n2); x3 = ExpFinish(p3, r3, n3);
    }

    /// <summary><see cref="ExpFloat"/> of two vectors in place, step by step interleaved: the same operations, the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpFloat2(ref Vector512<float> x0, ref Vector512<float> x1)
    {
        Vector512<float> a0 = ExpClamp(x0), a1 = ExpClamp(x1);
        Vector512<float> n0 = ExpRound(a0), n1 = ExpRound(a1);
        Vector512<float> r0 = ExpReduce(a0, n0), r1 = ExpReduce(a1, n1);
        var e7 = Vector512.Create(E7);
        Vector512<float> p0 = ExpHorner(e7, r0, E6), p1 = ExpHorner(e7, r1, E6);
        p0 = ExpHorner(p0, r0, E5); p1 = ExpHorner(p1, r1, E5);
        p0 = ExpHorner(p0, r0, E4); p1 = ExpHorner(p1, r1, E4);
        p0 = ExpHorner(p0, r0, E3); p1 = ExpHorner(p1, r1, E3);
        p0 = ExpHorner(p0, r0, E2); p1 = ExpHorner(p1, r1, E2);
        x0 = ExpFinish(p0, r0, n0); x1 = ExpFinish(p1, r1, n1);
    }

    /// <summary><see cref="Reciprocal"/> of four float vectors in place (AVX-512F), interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reciprocal4(ref Vector512<float> d0, ref Vector512<float> d1, ref Vector512<float> d2, ref Vector512<float> d3)
    {
        Vector512<float> r0 = Avx512F.Reciprocal14(d0), r1 = Avx512F.Reciprocal14(d1), r2 = Avx512F.Reciprocal14(d2), r3 = Avx512F.Reciprocal14(d3);
        d0 = Newton(d0, r0); d1 = Newton(d1, r1); d2 = Newton(d2, r2); d3 = Newton(d3, r3);
    }

    /// <summary><see cref="Reciprocal"/> of two float vectors in place (AVX-512F), interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reciprocal2(ref Vector512<float> d0, ref Vector512<float> d1)
    {
        Vector512<float> r0 = Avx512F.Reciprocal14(d0), r1 = Avx512F.Reciprocal14(d1);
        d0 = Newton(d0, r0); d1 = Newton(d1, r1);
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
