using Alpine.Prep;

namespace Alpine.Tests.Prep;

[TestFixture]
public class GramPanelsTests
{
    /// <summary>A block of <paramref name="rows"/> random rows of d columns packed as panels of <paramref name="capacity"/> rows.</summary>
    private static (float[] Panels, double[,] Y) Block(int d, int capacity, int rows, int seed)
    {
        var rng = new Random(seed);
        int dp = GramPanels.Padded(d);
        var panels = new float[dp * capacity];
        var y = new double[rows, d];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < d; i++)
            {
                float v = (float)(rng.NextDouble() - 0.5) * (1 + i % 7);
                y[r, i] = v;
                panels[i / GramPanels.Width * capacity * GramPanels.Width + r * GramPanels.Width + i % GramPanels.Width] = v;
            }
        return (panels, y);
    }

    [Test]
    public void EveryKernelGivesTheSameBitsAndTheUpperGramMatrix()
    {
        // d = 70 pads to 96 (three panels); 37 of 64 rows filled, the rest garbage the kernels must not read.
        int d = 70, capacity = 64, rows = 37, dp = GramPanels.Padded(d);
        var (panels, y) = Block(d, capacity, rows, seed: 3);
        for (int p = 0; p < dp / GramPanels.Width; p++)
            for (int r = rows; r < capacity; r++)
                for (int c = 0; c < GramPanels.Width; c++) panels[(p * capacity + r) * GramPanels.Width + c] = float.NaN;
        var results = new Dictionary<GramPanels.Kernel, double[]>();
        foreach (var kernel in new[] { GramPanels.Kernel.Scalar, GramPanels.Kernel.Vector256, GramPanels.Kernel.Vector512 })
        {
            var q = Enumerable.Repeat(0.25, dp * dp).ToArray();    // it adds to what is there
            GramPanels.AddUpper(q, panels, dp, capacity, rows, kernel);
            results[kernel] = q;
        }
        Assert.That(results[GramPanels.Kernel.Vector256], Is.EqualTo(results[GramPanels.Kernel.Scalar]), "Vector256 = scalar, bit for bit");
        Assert.That(results[GramPanels.Kernel.Vector512], Is.EqualTo(results[GramPanels.Kernel.Scalar]), "Vector512 = scalar, bit for bit");

        var scalar = results[GramPanels.Kernel.Scalar];
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++)
            {
                double exact = 0.25, magnitude = 0;
                for (int r = 0; r < rows; r++) { exact += y[r, i] * y[r, j]; magnitude += Math.Abs(y[r, i] * y[r, j]); }
                Assert.That(scalar[i * dp + j], Is.EqualTo(exact).Within(rows * 6e-8 * magnitude), $"({i},{j})");
            }
    }

    [Test]
    public void CovarianceDoesNotDependOnHowRowsAreSplitOverCalls()
    {
        var rng = new Random(6);
        int n = 700, d = 45;                            // blocks of 256 cut inside the calls below
        var data = Enumerable.Range(0, n * d).Select(_ => (float)(3 + rng.NextDouble())).ToArray();
        (double[], double[]) Run(params int[] cuts)
        {
            var acc = new CovarianceAccumulator(d);
            int start = 0;
            foreach (int len in cuts) { acc.Add(data.AsSpan(start * d, len * d)); start += len; }
            Assert.That(start, Is.EqualTo(n));
            return acc.Finish();
        }
        var a = Run(100, 600);
        var b = Run(100, 1, 255, 3, 341);
        Assert.That(b.Item1, Is.EqualTo(a.Item1), "mean");
        Assert.That(b.Item2, Is.EqualTo(a.Item2), "covariance");
    }
}
