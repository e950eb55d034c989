using System.Runtime.Intrinsics;
using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

/// <summary>The cell's float exp, σ and tanh against Math.Exp / Math.Tanh in double (they replace the BCL's widening exp and a divide).</summary>
[TestFixture]
public class SimdTests
{
    private const double MinNormal = 1.1754943508222875e-38;   // 2^−126

    private static float[] Apply(Func<Vector512<float>, Vector512<float>> f, float[] x)
    {
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += 16) f(Vector512.Create(x, i)).CopyTo(y, i);
        return y;
    }

    /// <summary>A grid over [lo, hi] plus the given extremes, padded to whole vectors.</summary>
    private static float[] Grid(float lo, float hi, int n, params float[] extra)
    {
        var x = Enumerable.Range(0, n).Select(i => lo + (hi - lo) * i / (n - 1)).Concat(extra).ToList();
        while (x.Count % 16 != 0) x.Add(0f);
        return [.. x];
    }

    [Test]
    public void ExpIsWithinTwoUlpOfMathExpOverTheFloatRange()
    {
        // −87.3 … 88.7 is e^x in normal floats; below that the result is subnormal (absolute error checked).
        var x = Grid(-87.3f, 88.7f, 40_000, -88f, 88f, 88.72f, 0f, -0f, 1e-8f, -1e-8f, 0.5f * MathF.Log(2));
        var y = Apply(Simd<float>.Exp, x);
        for (int i = 0; i < x.Length; i++)
        {
            double e = Math.Exp(x[i]);
            if (e < MinNormal || e > float.MaxValue) continue;
            Assert.That(Math.Abs(y[i] - e), Is.LessThanOrEqualTo(2.5 * e * Math.Pow(2, -23)), $"exp({x[i]:R}) = {y[i]:R}, expected {e:R}");
        }
    }

    /// <summary>The AVX-512 exp and, on any machine, the one that runs without AVX-512F (<see cref="Simd{T}.ExpPortable"/>).</summary>
    [TestCase(false), TestCase(true)]
    public void ExpUnderflowsGraduallyAndNeverOverflowsToInfinityOrNaN(bool portable)
    {
        Func<Vector512<float>, Vector512<float>> exp = portable ? Simd<float>.ExpPortable : Simd<float>.Exp;
        var x = Grid(-110f, -87.4f, 2_000, float.NegativeInfinity, float.PositiveInfinity, float.MaxValue, float.MinValue, 89f, 1000f);
        var y = Apply(exp, x);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.That(float.IsFinite(y[i]) && y[i] >= 0, $"exp({x[i]:R}) = {y[i]:R}");
            double e = Math.Exp(x[i]);
            if (e < MinNormal) Assert.That(Math.Abs(y[i] - e), Is.LessThanOrEqualTo(2 * float.Epsilon), $"exp({x[i]:R})");
        }
        // Past ln(float.MaxValue) the result stays the largest value the clamp gives, finite.
        Assert.That(Apply(exp, Grid(89f, 1e30f, 16)), Is.All.GreaterThan(3e38f).And.All.LessThanOrEqualTo(float.MaxValue));
    }

    [Test]
    public void SigmoidAndTanhMatchDoubleAndSaturateWithoutNaN()
    {
        var x = Grid(-60f, 60f, 20_000, float.NegativeInfinity, float.PositiveInfinity, -88f, 88f, -1e30f, 1e30f, 0f);
        var s = Apply(Simd<float>.Sigmoid, x);
        var t = Apply(Simd<float>.Tanh, x);
        for (int i = 0; i < x.Length; i++)
        {
            double sx = 1 / (1 + Math.Exp(-(double)x[i])), tx = Math.Tanh(x[i]);
            Assert.That(s[i], Is.InRange(0f, 1f), $"σ({x[i]:R})");
            Assert.That(t[i], Is.InRange(-1f, 1f), $"tanh({x[i]:R})");
            // σ relative to itself (it is small on the left), tanh absolutely (2σ(2x) − 1 cancels near 0).
            Assert.That(Math.Abs(s[i] - sx), Is.LessThanOrEqualTo(4e-7 * sx + 1e-38), $"σ({x[i]:R}) = {s[i]:R}, expected {sx:R}");
            Assert.That(Math.Abs(t[i] - tx), Is.LessThanOrEqualTo(4e-7), $"tanh({x[i]:R}) = {t[i]:R}, expected {tx:R}");
        }
        Assert.That(Apply(Simd<float>.Sigmoid, Grid(20f, 1e30f, 16)), Is.All.EqualTo(1f));
        Assert.That(Apply(Simd<float>.Tanh, Grid(10f, 1e30f, 16)), Is.All.EqualTo(1f));
        Assert.That(Apply(Simd<float>.Tanh, Grid(-10f, -1e30f, 16)), Is.All.EqualTo(-1f));
    }

    /// <summary>
    /// The cell's interleaved activations (<see cref="Simd{T}.LstmGates"/>, <see cref="Simd{T}.Tanh2"/>) give the bits
    /// of σ and tanh one vector at a time, for every 1009th float bit pattern (all signs and exponents, subnormals,
    /// infinities and NaNs) in each of the four (two) places, in float and in double. (Without AVX-512 both sides take
    /// the one-at-a-time path.)
    /// </summary>
    [Test]
    public void InterleavedGatesGiveTheBitsOfOneGateAtATime()
    {
        var x = new List<float> { 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 88.72f, -88.72f, 104f, -104f, 44.36f, -52f };
        for (long bits = 0; bits <= uint.MaxValue; bits += 1009) x.Add(BitConverter.UInt32BitsToSingle((uint)bits));
        while (x.Count % 64 != 0) x.Add(1f);
        float[] xs = [.. x];
        static uint Bits(float v) => BitConverter.SingleToUInt32Bits(v);
        var wrong = new List<string>();
        void Compare(string what, Vector512<float> input, Vector512<float> got, Vector512<float> want)
        {
            for (int l = 0; l < 16; l++)
                if (Bits(got[l]) != Bits(want[l]) && wrong.Count < 10) wrong.Add($"{what}({input[l]:R}) = {got[l]:R}, one at a time {want[l]:R}");
        }
        for (int at = 0; at < xs.Length; at += 64)
        {
            // Four different inputs per call, each lane group of the sample once in every position.
            var v = Enumerable.Range(0, 4).Select(q => Vector512.Create(xs, at + 16 * q)).ToArray();
            for (int shift = 0; shift < 4; shift++)
            {
                Vector512<float> i = v[shift], f = v[(shift + 1) % 4], o = v[(shift + 2) % 4], u = v[(shift + 3) % 4];
                Simd<float>.LstmGates(ref i, ref f, ref o, ref u);
                Compare("σ", v[shift], i, Simd<float>.Sigmoid(v[shift]));
                Compare("σ", v[(shift + 1) % 4], f, Simd<float>.Sigmoid(v[(shift + 1) % 4]));
                Compare("σ", v[(shift + 2) % 4], o, Simd<float>.Sigmoid(v[(shift + 2) % 4]));
                Compare("tanh", v[(shift + 3) % 4], u, Simd<float>.Tanh(v[(shift + 3) % 4]));
            }
            Vector512<float> a = v[0], b = v[1];
            Simd<float>.Tanh2(ref a, ref b);
            Compare("tanh2", v[0], a, Simd<float>.Tanh(v[0]));
            Compare("tanh2", v[1], b, Simd<float>.Tanh(v[1]));
        }
        Assert.That(wrong, Is.Empty);
        // Double takes the one-at-a-time path inside; the result must still be σ σ σ tanh.
        Vector512<double> di = Vector512.Create(0.3), df = Vector512.Create(-2.0), dO = Vector512.Create(40.0), du = Vector512.Create(-0.7);
        Simd<double>.LstmGates(ref di, ref df, ref dO, ref du);
        Assert.That(new[] { di[0], df[0], dO[0], du[0] }, Is.EqualTo(new[] { Simd<double>.Sigmoid(Vector512.Create(0.3))[0],
            Simd<double>.Sigmoid(Vector512.Create(-2.0))[0], Simd<double>.Sigmoid(Vector512.Create(40.0))[0], Simd<double>.Tanh(Vector512.Create(-0.7))[0] }));
    }

    /// <summary>
    /// tanh is computed as one fused 2σ − 1 of σ(2x) (Simd.Tanh): the same bits as σ(2x), doubled, minus 1, one
    /// operation after another, because the doublings are exact. Every float from −12 to 12 in steps of 2⁻¹⁴ relative,
    /// the tiny and the saturated ones, in float and double.
    /// </summary>
    [Test]
    public void TanhIsBitForBitTwiceTheSigmoidOfTwiceXMinusOne()
    {
        var x = new List<float> { 0f, -0f, 1e-40f, -1e-40f, 1e-30f, 50f, -50f, 1e30f, -1e30f, float.MaxValue, float.MinValue };
        for (float v = 1e-7f; v < 12f; v *= 1 + 1f / 16384) { x.Add(v); x.Add(-v); }
        while (x.Count % 16 != 0) x.Add(0.5f);
        float[] xs = [.. x];
        var two = Vector512.Create(2f);
        var stepwise = Apply(v => two * Simd<float>.Sigmoid(two * v) - Vector512<float>.One, xs);
        Assert.That(Apply(Simd<float>.Tanh, xs).Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(stepwise.Select(BitConverter.SingleToUInt32Bits)).AsCollection);

        var xd = xs.Select(v => (double)v).ToArray();
        var yd = new double[xd.Length]; var sd = new double[xd.Length];
        var twoD = Vector512.Create(2.0);
        for (int i = 0; i < xd.Length; i += 8)
        {
            var v = Vector512.Create(xd, i);
            Simd<double>.Tanh(v).CopyTo(yd, i);
            (twoD * Simd<double>.Sigmoid(twoD * v) - Vector512<double>.One).CopyTo(sd, i);
        }
        Assert.That(yd.Select(BitConverter.DoubleToUInt64Bits), Is.EqualTo(sd.Select(BitConverter.DoubleToUInt64Bits)).AsCollection);
    }

    /// <summary>
    /// The bfloat16 cache's shortlist (<c>AlpineModel.Shortlist</c>) leaves out a candidate only when its p's upper
    /// bound is more than <c>AlpineModel.Margin</c> ulps below another's lower bound, which is sound if σ never falls
    /// by more than half that as its argument grows: checked over [−30, 30], at every 16,384th float a run of 64
    /// consecutive floats, so that neighbours, where a fall could hide, are compared.
    /// </summary>
    [Test]
    public void SigmoidNeverFallsByMoreThanHalfTheShortlistsMarginAsItsArgumentGrows()
    {
        // Floats in order by an integer key (−0 and +0 one key apart), every 2^14-th key a run of 64.
        static int Key(float v) => v >= 0 ? BitConverter.SingleToInt32Bits(v) : -(BitConverter.SingleToInt32Bits(v) & int.MaxValue) - 1;
        static float FromKey(int k) => k >= 0 ? BitConverter.Int32BitsToSingle(k) : BitConverter.Int32BitsToSingle((-k - 1) | int.MinValue);
        var x = new List<float>();
        for (int k = Key(-30f); k <= Key(30f); k += 1 << 14)
            for (int j = 0; j < 64; j++) x.Add(FromKey(k + j));
        while (x.Count % 16 != 0) x.Add(30f);
        var y = Apply(Simd<float>.Sigmoid, [.. x]);
        uint highest = 0;
        int worst = 0;
        for (int i = 0; i < y.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(y[i]);
            if (highest > bits) worst = Math.Max(worst, (int)(highest - bits));
            highest = Math.Max(highest, bits);
        }
        Assert.That(x.Count, Is.GreaterThan(8_000_000));
        Assert.That(worst, Is.LessThanOrEqualTo(Alpine.Serving.AlpineModel.Margin / 2), "ulps σ fell by, at most, between a smaller and a larger argument");
    }
}
