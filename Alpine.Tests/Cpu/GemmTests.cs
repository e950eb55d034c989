using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class GemmTests
{
    /// <summary>Odd shapes hit the 4-row micro-tiles, the row remainder and the column remainder.</summary>
    [TestCase(1, 1, 1), TestCase(3, 5, 7), TestCase(9, 70, 33), TestCase(13, 130, 300), TestCase(64, 64, 129)]
    public void EqualsTripleLoopForEveryTransposeAndBothModes(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (bool accumulate in new[] { false, true })
                {
                    // Leading dimensions wider than the views, so strides are really used.
                    int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
                    var a = Rand(rng, (transA ? k : m) * lda);
                    var b = Rand(rng, (transB ? n : k) * ldb);
                    var c = Rand(rng, m * ldc);
                    var expected = (double[])c.Clone();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = accumulate ? c[i * ldc + j] : 0;
                            for (int p = 0; p < k; p++)
                                s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                            expected[i * ldc + j] = s;
                        }
                    Gemm.Multiply<double>(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate);
                    Assert.That(c, Is.EqualTo(expected).Within(1e-10), $"transA={transA} transB={transB} accumulate={accumulate}");
                }
    }

    /// <summary>SPEC D13: the thread split changes no bit of the float result.</summary>
    [TestCase(256, 64, 1000, false), TestCase(256, 64, 1000, true), TestCase(5, 700, 64, false), TestCase(301, 72, 40, true)]
    public void ParallelEqualsSerialBitForBit(int m, int n, int k, bool transA)
    {
        var rng = new Random(11);
        var a = Rand(rng, m * k).Select(v => (float)v).ToArray();
        var b = Rand(rng, k * n).Select(v => (float)v).ToArray();
        int lda = transA ? m : k;
        var serial = new float[m * n];
        var parallel = new float[m * n];
        Gemm.Multiply<float>(serial, n, a, lda, transA, b, n, false, m, n, k, accumulate: false, parallel: false);
        Gemm.Multiply<float>(parallel, n, a, lda, transA, b, n, false, m, n, k, accumulate: false, parallel: true);
        Assert.That(parallel, Is.EqualTo(serial).AsCollection);
    }

    [Test]
    public void RejectsAViewLongerThanItsBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(new float[6], 3, new float[5], 3, false, new float[9], 3, false, 2, 3, 3, false));
        Assert.That(ex!.Message, Does.Contain("A"));
    }

    private static double[] Rand(Random rng, int count) => Enumerable.Range(0, count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
}
