using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class DotBlockTests
{
    [Test]
    public void EqualsEightPlainDotsAtEveryLengthAndStride()
    {
        var rng = new Random(12);
        for (int len = 0; len <= 70; len++)
        {
            int xStride = len + rng.Next(3), yStride = len + rng.Next(3), x0 = rng.Next(4), y0 = rng.Next(4);
            var xd = Enumerable.Range(0, x0 + 4 * xStride + 1).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var yd = Enumerable.Range(0, y0 + 2 * yStride + 1).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var rd = new double[8];
            DotBlock.Dot4x2<double>(rd, xd, x0, xStride, yd, y0, yStride, len);
            var rf = new float[8];
            DotBlock.Dot4x2<float>(rf, xd.Select(v => (float)v).ToArray(), x0, xStride, yd.Select(v => (float)v).ToArray(), y0, yStride, len);
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 2; b++)
                {
                    double expected = 0;
                    for (int r = 0; r < len; r++) expected += xd[x0 + a * xStride + r] * yd[y0 + b * yStride + r];
                    Assert.That(rd[a * 2 + b], Is.EqualTo(expected).Within(1e-12), $"double len {len} ({a},{b})");
                    Assert.That(rf[a * 2 + b], Is.EqualTo(expected).Within(1e-5), $"float len {len} ({a},{b})");
                }
        }
    }

    [Test]
    public void RefusesRowsRunningPastTheSpan() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => DotBlock.Dot4x2<double>(new double[8], new double[10], 0, 3, new double[10], 0, 3, 2));
}
