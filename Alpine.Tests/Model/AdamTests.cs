using Alpine.Model;

namespace Alpine.Tests.Model;

[TestFixture]
public class AdamTests
{
    [Test]
    public void TwoStepsMatchAHandComputedExample()
    {
        float[] p = [1f, -2f], m = new float[2], v = new float[2];
        var s = new AdamSettings(LearningRate: 0.1f, ClipNorm: 0f);
        Adam.Step(p, [0.5f, -1f], m, v, s, 1);
        // Step 1: m̂ = g, v̂ = g², so each parameter moves by lr·g/(|g| + ε) ≈ lr·sign(g).
        Assert.That(p[0], Is.EqualTo(1 - 0.1 * 0.5 / (0.5 + 1e-8)).Within(1e-6));
        Assert.That(p[1], Is.EqualTo(-2 + 0.1 * 1 / (1 + 1e-8)).Within(1e-6));
        Adam.Step(p, [0.25f, 2f], m, v, s, 2);
        // Step 2, parameter 0: m = 0.9·0.05 + 0.1·0.25 = 0.07, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225,
        // m̂ = 0.07/0.19, v̂ = 0.00031225/0.001999.
        Assert.That(m[0], Is.EqualTo(0.07f).Within(1e-7));
        Assert.That(v[0], Is.EqualTo(0.00031225).Within(0.01).Percent, "1 − β2 in float32 is 0.00099998713");
        Assert.That(p[0], Is.EqualTo(0.9 - 0.1 * (0.07 / 0.19) / (Math.Sqrt(0.00031225 / 0.001999) + 1e-8)).Within(1e-6));
        // Parameter 1: m = 0.9·(−0.1) + 0.1·2 = 0.11, v = 0.999·0.001 + 0.001·4 = 0.004999.
        Assert.That(p[1], Is.EqualTo(-1.9 - 0.1 * (0.11 / 0.19) / (Math.Sqrt(0.004999 / 0.001999) + 1e-8)).Within(1e-6));
    }

    [Test]
    public void ClippingScalesTheGradientToTheGlobalNorm()
    {
        float[] g = [6f, 8f]; // norm 10
        float[] pClipped = [0f, 0f], mC = new float[2], vC = new float[2];
        float[] pHalf = [0f, 0f], mH = new float[2], vH = new float[2];
        float norm = Adam.Step(pClipped, g, mC, vC, new AdamSettings(ClipNorm: 5f), 1);
        Adam.Step(pHalf, [3f, 4f], mH, vH, new AdamSettings(ClipNorm: 0f), 1);
        Assert.That(norm, Is.EqualTo(10f).Within(1e-5f), "the norm before clipping");
        Assert.That(mC, Is.EqualTo(mH), "clipped to norm 5 = the gradient halved");
        Assert.That(vC, Is.EqualTo(vH));
        Assert.That(g, Is.EqualTo(new[] { 6f, 8f }), "the gradient buffer is not changed");
    }

    [Test]
    public void ZeroOrInfiniteClipTurnsClippingOff([Values(0f, float.PositiveInfinity)] float clip)
    {
        float[] m = new float[1], v = new float[1];
        Adam.Step([0f], [100f], m, v, new AdamSettings(ClipNorm: clip), 1);
        Assert.That(m[0], Is.EqualTo(10f).Within(1e-4f));
    }

    [Test]
    public void GlobalNormIsTheEuclideanNormOverChunks()
    {
        var g = Enumerable.Range(0, 10_001).Select(i => (float)Math.Sin(i)).ToArray();
        double expected = Math.Sqrt(g.Sum(x => (double)x * x));
        Assert.That(Adam.GlobalNorm(g), Is.EqualTo(expected).Within(1e-5 * expected));
    }
}
