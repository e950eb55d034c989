using System.Runtime.CompilerServices;

namespace Alpine.Data.Synthetic;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64. Our own generator because
/// <see cref="System.Random"/>'s algorithm is not guaranteed across .NET versions, and the
/// synthetic log must be byte-identical from a seed (SPEC D17).
/// Independent streams (one per user, one per item row) are keyed by (seed, stream, index), so
/// rows can be filled in parallel and still come out the same.
/// </summary>
public struct SyntheticRng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>The generator of stream <paramref name="stream"/>, element <paramref name="index"/>, of <paramref name="seed"/>.</summary>
    public static SyntheticRng For(long seed, SyntheticStream stream, long index)
    {
        ulong x = Mix((ulong)seed ^ 0x6A09E667F3BCC909UL);
        x = Mix(x ^ ((ulong)stream * 0x9E3779B97F4A7C15UL));
        x = Mix(x ^ (ulong)index);
        SyntheticRng r;
        r._s0 = SplitMix64(ref x); r._s1 = SplitMix64(ref x); r._s2 = SplitMix64(ref x); r._s3 = SplitMix64(ref x);
        return r;
    }

    private static ulong SplitMix64(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        return Mix(x);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n), without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public int NextInt(int n)
    {
        System.Diagnostics.Debug.Assert(n > 0);
        ulong bound = (ulong)n;
        UInt128 m = (UInt128)NextUInt64() * bound;
        if ((ulong)m < bound)
        {
            ulong threshold = (0UL - bound) % bound;
            while ((ulong)m < threshold) m = (UInt128)NextUInt64() * bound;
        }
        return (int)(ulong)(m >> 64);
    }

    public bool Bernoulli(double p) => NextDouble() < p;

    /// <summary>Standard normal by the Box–Muller transform (one value per call; the pair's twin is dropped to keep no hidden state).</summary>
    public double Gaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Exponential with the given mean.</summary>
    public double Exponential(double mean) => -mean * Math.Log(1.0 - NextDouble());

    /// <summary>
    /// Fills <paramref name="dest"/> with uniform values in [-a, a) (24 random bits each, two per draw).
    /// The cheap noise of the item features: 3.2M × 2048 values in the paper preset.
    /// </summary>
    public void FillUniform(Span<float> dest, float a)
    {
        const float Scale = 1f / (1 << 24);
        int i = 0;
        for (; i + 1 < dest.Length; i += 2)
        {
            ulong r = NextUInt64();
            dest[i] = ((int)(r >> 40) * Scale * 2f - 1f) * a;
            dest[i + 1] = ((int)((r >> 8) & 0xFFFFFF) * Scale * 2f - 1f) * a;
        }
        if (i < dest.Length) dest[i] = ((int)(NextUInt64() >> 40) * Scale * 2f - 1f) * a;
    }
}

/// <summary>The independent random streams of the generator; values are part of the file format's determinism, never renumber them.</summary>
public enum SyntheticStream : ulong
{
    /// <summary>Topic centres, the feature map, topic sizes, item topics and latents, impression counts.</summary>
    World = 1,
    /// <summary>One per user: its tastes and its whole impression history.</summary>
    User = 2,
    /// <summary>One per item: the noise of its feature row.</summary>
    ItemNoise = 3,
}
