using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class LinearTests
{
    private const int R = 3, I = 5, O = 7;

    [Test, Category("GradCheck")]
    public void BackwardMatchesFiniteDifferencesAndAccumulates()
    {
        var rng = new Random(4);
        double[] Rand(int n) => Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        double[] x = Rand(R * I), w = Rand(O * I), bias = Rand(O), r = Rand(R * O);
        double LossOf(double[] _)
        {
            var y = new double[R * O];
            Linear.Forward<double>(y, x, w, bias, O);
            return y.Select((v, i) => v * r[i]).Sum();
        }
        // Gradients accumulate onto what is there (llm.c's rule for parameters; x is a fan-in point here).
        double[] dx = Enumerable.Repeat(1.0, R * I).ToArray(), dw = Enumerable.Repeat(2.0, O * I).ToArray(), db = Enumerable.Repeat(3.0, O).ToArray();
        Linear.Backward<double>(dx, dw, db, r, x, w, O);
        GradCheck.Check("dx", x, LossOf, dx.Select(v => v - 1).ToArray());
        GradCheck.Check("dW", w, LossOf, dw.Select(v => v - 2).ToArray());
        GradCheck.Check("db", bias, LossOf, db.Select(v => v - 3).ToArray());
    }

    [Test]
    public void NoBiasAndNoInputGradient()
    {
        float[] y = [9, 9], dw = new float[4];
        Linear.Forward<float>(y, [1, 2], [1, 0, 3, 4], [], 2);
        Assert.That(y, Is.EqualTo(new float[] { 1, 11 }));
        Linear.Backward<float>([], dw, [], [1, 10], [1, 2], [1, 0, 3, 4], 2);
        Assert.That(dw, Is.EqualTo(new float[] { 1, 2, 10, 20 }));
    }
    /// <summary>The bias gradient's column sums are row after row per element: the bits of adding one row at a time.</summary>
    [TestCase(1, 2048), TestCase(15, 7), TestCase(16, 3), TestCase(40, 33), TestCase(128, 5)]
    public void BiasSumsEqualAddingRowAfterRowBitForBit(int cols, int rows)
    {
        var rng = new Random(cols * 31 + rows);
        var dy = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1) * 1e3f).ToArray();
        var start = Enumerable.Range(0, cols).Select(_ => (float)rng.NextDouble()).ToArray();
        var expected = (float[])start.Clone();
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++) expected[k] += dy[r * cols + k];
        var sum = (float[])start.Clone();
        Linear.AddRows<float>(sum, dy, rows);
        Assert.That(sum, Is.EqualTo(expected).AsCollection);
    }
}
