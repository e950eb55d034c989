using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Alpine.Prep;

/// <summary>
/// The PCA projection's micro-kernel: eight dot products at once.
/// Effectively computes <c>out[a·2 + b] = Σ_r x[xRow_a + r] · y[yRow_b + r]</c> for a &lt; 4, b &lt; 2,
/// r &lt; len, with row starts <c>xRow_a = x0 + a·xStride</c>, <c>yRow_b = y0 + b·yStride</c>.
/// Each step loads 4 + 2 vectors for 8 multiply-adds (Vector256: 4 doubles or 8 floats); the tail is scalar.
/// The summation order is fixed, so results do not depend on threads.
/// </summary>
internal static class DotBlock
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x2<T>(Span<T> result, ReadOnlySpan<T> x, int x0, int xStride, ReadOnlySpan<T> y, int y0, int yStride, int len)
        where T : unmanaged, INumber<T>
    {
        if (result.Length < 8) throw new ArgumentException("needs room for 8 results", nameof(result));
        if (x0 < 0 || y0 < 0 || len < 0 || x0 + 3L * xStride + len > x.Length || y0 + (long)yStride + len > y.Length)
            throw new ArgumentOutOfRangeException(nameof(len), "a row runs past its span");
        ref T xr = ref Unsafe.AsRef(in x[0]);
        ref T yr = ref Unsafe.AsRef(in y[0]);
        nint a0 = x0, a1 = a0 + xStride, a2 = a1 + xStride, a3 = a2 + xStride, b0 = y0, b1 = b0 + yStride;
        var s00 = Vector256<T>.Zero; var s01 = s00; var s10 = s00; var s11 = s00;
        var s20 = s00; var s21 = s00; var s30 = s00; var s31 = s00;
        nint r = 0, w = Vector256<T>.Count;
        for (; r <= len - w; r += w)
        {
            var v0 = Vector256.LoadUnsafe(ref yr, (nuint)(b0 + r));
            var v1 = Vector256.LoadUnsafe(ref yr, (nuint)(b1 + r));
            var u = Vector256.LoadUnsafe(ref xr, (nuint)(a0 + r)); s00 += u * v0; s01 += u * v1;
            u = Vector256.LoadUnsafe(ref xr, (nuint)(a1 + r)); s10 += u * v0; s11 += u * v1;
            u = Vector256.LoadUnsafe(ref xr, (nuint)(a2 + r)); s20 += u * v0; s21 += u * v1;
            u = Vector256.LoadUnsafe(ref xr, (nuint)(a3 + r)); s30 += u * v0; s31 += u * v1;
        }
        T t00 = Vector256.Sum(s00), t01 = Vector256.Sum(s01), t10 = Vector256.Sum(s10), t11 = Vector256.Sum(s11);
        T t20 = Vector256.Sum(s20), t21 = Vector256.Sum(s21), t30 = Vector256.Sum(s30), t31 = Vector256.Sum(s31);
        for (; r < len; r++)
        {
            T v0 = Unsafe.Add(ref yr, b0 + r), v1 = Unsafe.Add(ref yr, b1 + r);
            T u = Unsafe.Add(ref xr, a0 + r); t00 += u * v0; t01 += u * v1;
            u = Unsafe.Add(ref xr, a1 + r); t10 += u * v0; t11 += u * v1;
            u = Unsafe.Add(ref xr, a2 + r); t20 += u * v0; t21 += u * v1;
            u = Unsafe.Add(ref xr, a3 + r); t30 += u * v0; t31 += u * v1;
        }
        result[0] = t00; result[1] = t01; result[2] = t10; result[3] = t11;
        result[4] = t20; result[5] = t21; result[6] = t30; result[7] = t31;
    }
}
