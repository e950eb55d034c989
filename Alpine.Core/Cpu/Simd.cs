using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x)
    {
        if (typeof(T) == typeof(float)) return Vector512.Exp(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Exp(x.AsDouble()).As<double, T>();
        throw new NotSupportedException($"Simd supports float and double, not {typeof(T).Name}");
    }

    /// <summary>σ(x) = 1 / (1 + e^−x); saturates to exactly 0 and 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Sigmoid(Vector512<T> x) => Vector512<T>.One / (Vector512<T>.One + Exp(-x));

    /// <summary>
    /// tanh(x) = 2σ(2x) − 1: one exp instead of two; its absolute error is a few ulps of 1, which is all
    /// an LSTM state needs (the derivative used in backward is 1 − tanh², of this same value).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh(Vector512<T> x)
    {
        var two = Vector512.Create(T.One + T.One);
        return two * Sigmoid(two * x) - Vector512<T>.One;
    }
}
