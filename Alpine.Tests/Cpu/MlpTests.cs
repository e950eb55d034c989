using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class MlpTests
{
    private const int R = 3, I = 5, M = 4;

    [Test, Category("GradCheck")]
    public void BackwardMatchesFiniteDifferences()
    {
        var rng = new Random(11);
        double[] Rand(int n) => Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        double[] u = Rand(R * I), w1 = Rand(M * I), b1 = Rand(M), w2 = Rand(M), b2 = Rand(1), r = Rand(R);

        double LossOf(double[] _)
        {
            var y = new double[R];
            Mlp.Forward<double>(y, new double[R * M], u, w1, b1, w2, b2);
            return y.Select((v, i) => v * r[i]).Sum();
        }

        var z = new double[R * M];
        Mlp.Forward<double>(new double[R], z, u, w1, b1, w2, b2);
        Assert.That(z, Has.Some.EqualTo(0.0).And.Some.GreaterThan(0.0), "the shape exercises both sides of the ReLU");
        var du = Enumerable.Repeat(9.0, R * I).ToArray(); // assigned, whatever was there
        double[] dw1 = new double[M * I], db1 = new double[M], dw2 = new double[M], db2 = new double[1];
        Mlp.Backward<double>(du, dw1, db1, dw2, db2, new double[R * M], r, z, u, w1, w2);

        GradCheck.Check("du", u, LossOf, du);
        GradCheck.Check("dW1", w1, LossOf, dw1);
        GradCheck.Check("db1", b1, LossOf, db1);
        GradCheck.Check("dW2", w2, LossOf, dw2);
        GradCheck.Check("db2", b2, LossOf, db2);
    }

    [Test]
    public void WeightGradientsAccumulate()
    {
        float[] u = [1, 2], w1 = [1, 0, 0, 1], b1 = [0, 0], w2 = [1, 1], z = new float[2], y = new float[1];
        Mlp.Forward<float>(y, z, u, w1, b1, w2, [0.5f]);
        Assert.That(y[0], Is.EqualTo(3.5f));
        var dw1 = new float[] { 10, 10, 10, 10 };
        var db1 = new float[] { 1, 1 };
        Mlp.Backward<float>(new float[2], dw1, db1, new float[2], new float[1], new float[2], [1f], z, u, w1, w2);
        Assert.That(dw1, Is.EqualTo(new float[] { 11, 12, 11, 12 }));
        Assert.That(db1, Is.EqualTo(new float[] { 2, 2 }));
    }
}
