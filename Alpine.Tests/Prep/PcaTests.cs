using Alpine.Prep;
using MathNet.Numerics.LinearAlgebra;

namespace Alpine.Tests.Prep;

[TestFixture]
public class PcaTests
{
    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static int[] AllRows(int n) => Enumerable.Range(0, n).ToArray();

    [Test]
    public void RecoversAPlantedLowRankSubspaceReadingInChunks()
    {
        var rng = new Random(3);
        int n = 700, d = 40, r = 4;
        var basis = Matrix<double>.Build.Dense(r, d, (_, _) => Gaussian(rng));
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, r).Select(_ => 3 * Gaussian(rng)).ToArray();
            for (int j = 0; j < d; j++)
            {
                double val = 5.0 + 1e-3 * Gaussian(rng);  // offset far from 0, tiny isotropic noise
                for (int k = 0; k < r; k++) val += z[k] * basis[k, j];
                data[i * d + j] = (float)val;
            }
        }
        var source = new ArrayFeatureRows(data, d);
        var model = Pca.Fit(source, AllRows(n), r, chunkRows: 64);
        Assert.That(source.LargestRead, Is.LessThanOrEqualTo(64), "the fit reads in chunks, never the whole matrix");

        // Principal angles: singular values of Q_Aᵀ V are their cosines, all ≈ 1.
        var qa = basis.Transpose().QR().Q.SubMatrix(0, d, 0, r);                       // (d, r)
        var v = Matrix<double>.Build.Dense(d, r, (j, c) => model.Components[c * d + j]); // (d, r)
        var cosines = (qa.Transpose() * v).Svd().S;
        Assert.That(cosines.Minimum(), Is.GreaterThan(1 - 1e-6));
    }

    [Test]
    public void MatchesMathNetDenseSvdOfTheCentredMatrix()
    {
        var rng = new Random(8);
        int n = 60, d = 12, k = 5;
        var data = new float[n * d];
        for (int i = 0; i < data.Length; i++) data[i] = (float)((1 + i % d) * Gaussian(rng) + 0.5 * (i % d));
        var model = Pca.Fit(new ArrayFeatureRows(data, d), AllRows(n), k, chunkRows: 7);

        var x = Matrix<double>.Build.Dense(n, d, (i, j) => data[i * d + j]);
        var mean = x.ColumnSums() / n;
        var xc = Matrix<double>.Build.Dense(n, d, (i, j) => x[i, j] - mean[j]);
        var svd = xc.Svd(computeVectors: true);
        for (int j = 0; j < d; j++) Assert.That(model.Mean[j], Is.EqualTo(mean[j]).Within(1e-9));
        for (int c = 0; c < k; c++)
        {
            Assert.That(model.Variances[c], Is.EqualTo(svd.S[c] * svd.S[c] / (n - 1)).Within(1e-6 * svd.S[0] * svd.S[0] / n));
            var mine = Vector<double>.Build.Dense(d, j => model.Components[c * d + j]);
            var theirs = svd.VT.Row(c);
            double sign = Math.Sign(mine.DotProduct(theirs));
            Assert.That((mine - sign * theirs).InfinityNorm(), Is.LessThan(1e-6), $"component {c}");
            // Deterministic sign: the largest-magnitude entry is positive.
            Assert.That(mine[mine.AbsoluteMaximumIndex()], Is.GreaterThan(0));
        }

        var projected = new float[n * k];
        var source = new ArrayFeatureRows(data, d);
        Pca.Project(model, source, projected, chunkRows: 9);
        Assert.That(source.LargestRead, Is.LessThanOrEqualTo(9));
        for (int i = 0; i < n; i++)
            for (int c = 0; c < k; c++)
            {
                double expected = 0;
                for (int j = 0; j < d; j++) expected += xc[i, j] * model.Components[c * d + j];
                Assert.That(projected[i * k + c], Is.EqualTo(expected).Within(1e-4 * (1 + Math.Abs(expected))));
            }
    }

    [Test]
    public void FitsOnlyTheGivenRows()
    {
        var rng = new Random(4);
        int n = 90, d = 10;
        var data = new float[n * d];
        for (int i = 0; i < data.Length; i++) data[i] = (float)Gaussian(rng) * (i / d < 30 ? 100 : 1);
        var subset = Enumerable.Range(30, 60).Where(i => i % 4 != 0).ToArray();  // runs with gaps
        var fromSubset = Pca.Fit(new ArrayFeatureRows(data, d), subset, 3);
        var copied = subset.SelectMany(i => data.AsSpan(i * d, d).ToArray()).ToArray();
        var fromCopy = Pca.Fit(new ArrayFeatureRows(copied, d), AllRows(subset.Length), 3);
        Assert.That(fromSubset.Components, Is.EqualTo(fromCopy.Components).Within(1e-9));
        Assert.That(fromSubset.FitRows, Is.EqualTo(subset.Length));
    }

    [Test]
    public void RotatesFeaturesOfNoMoreThanTheAskedDimsWithoutReducingThem()
    {
        // SPEC D3: d ≤ 64 keeps all d dims, centred and rotated onto the principal axes, signs fixed.
        var rng = new Random(5);
        int n = 40, d = 8;
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            double z = Gaussian(rng);
            for (int j = 0; j < d; j++) data[i * d + j] = (float)(3 + j + (j + 1) * z + 0.5 * Gaussian(rng));
        }
        var model = Pca.Fit(new ArrayFeatureRows(data, d), AllRows(n), 64, chunkRows: 16);
        Assert.That(model.OutputDim, Is.EqualTo(d));
        Assert.That(model.Components, Has.Length.EqualTo(d * d));
        var v = Matrix<double>.Build.Dense(d, d, (c, j) => model.Components[c * d + j]);
        Assert.That((v * v.Transpose() - Matrix<double>.Build.DenseIdentity(d)).InfinityNorm(), Is.LessThan(1e-9), "an orthogonal rotation");
        for (int c = 0; c < d; c++)
        {
            var row = v.Row(c);
            Assert.That(row[row.AbsoluteMaximumIndex()], Is.GreaterThan(0), $"component {c}: largest-|entry| positive");
        }
        for (int c = 1; c < d; c++) Assert.That(model.Variances[c], Is.LessThanOrEqualTo(model.Variances[c - 1]));

        var output = new float[data.Length];
        Pca.Project(model, new ArrayFeatureRows(data, d), output, chunkRows: 3);
        Assert.That(output, Is.Not.EqualTo(data));
        for (int c = 0; c < d; c++)
            Assert.That(Enumerable.Range(0, n).Average(i => (double)output[i * d + c]), Is.EqualTo(0).Within(1e-4), $"column {c} is centred");
        static double Dist(float[] a, int d, int i, int j) => Math.Sqrt(Enumerable.Range(0, d).Sum(k => Math.Pow(a[i * d + k] - a[j * d + k], 2)));
        for (int i = 0; i < n; i += 3)
            for (int j = i + 1; j < n; j += 5)
                Assert.That(Dist(output, d, i, j), Is.EqualTo(Dist(data, d, i, j)).Within(1e-4 * (1 + Dist(data, d, i, j))), $"distance {i}–{j} kept");
    }

    [Test]
    public void UnitScaleGivesTheFittedRowsAMeanSquareOfOnePerDimAndKeepsTheirGeometry()
    {
        // prepare --scale unit: one factor 1/√(mean eigenvalue), so Σ z² / (rows · k) over the fitted rows is (n−1)/n.
        var rng = new Random(8);
        int n = 500, d = 30, k = 6;
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) data[i * d + j] = (float)(40 + 37 * (j % 5 + 1) * Gaussian(rng));
        var source = new ArrayFeatureRows(data, d);
        var plain = Pca.Fit(source, AllRows(n), k, seed: 2);
        var unit = plain.WithScale(FeatureScale.Unit);
        Assert.That(plain.Scale, Is.EqualTo(1.0));
        Assert.That(plain.WithScale(FeatureScale.None).Scale, Is.EqualTo(1.0));
        Assert.That(unit.Scale, Is.EqualTo(1 / Math.Sqrt(plain.Variances.Average())).Within(1e-15));
        Assert.That(unit.Components, Is.SameAs(plain.Components), "directions are not touched");

        var a = new float[n * k];
        var b = new float[n * k];
        Pca.Project(plain, source, a);
        Pca.Project(unit, source, b);
        double meanSquare = b.Average(x => (double)x * x);
        Assert.That(meanSquare, Is.EqualTo((n - 1.0) / n).Within(1e-4), "unit mean square per dim over the fitted rows");
        Assert.That(a.Average(x => (double)x * x), Is.GreaterThan(100), "the unscaled vectors are far from unit scale");
        for (int i = 0; i < a.Length; i++)
            Assert.That(b[i], Is.EqualTo(a[i] * unit.Scale).Within(1e-5 * (1 + Math.Abs(b[i]))), $"entry {i}: one global factor");

        var constant = Pca.Fit(new ArrayFeatureRows(new float[20 * 3], 3), AllRows(20), 2, eigen: PcaEigen.Full);
        Assert.That(constant.WithScale(FeatureScale.Unit).Scale, Is.EqualTo(1.0), "no spread: nothing to divide by");
    }

    [Test]
    public void SampleIsSeededUniformAndSorted()
    {
        var ids = Enumerable.Range(0, 1000).Select(i => 3 * i).ToArray();
        var a = Pca.Sample(ids, 100, seed: 1);
        Assert.That(a, Has.Length.EqualTo(100).And.Ordered.And.Unique);
        Assert.That(ids, Is.SupersetOf(a));
        Assert.That(Pca.Sample(ids, 100, seed: 1), Is.EqualTo(a));
        Assert.That(Pca.Sample(ids, 100, seed: 2), Is.Not.EqualTo(a));
        Assert.That(Pca.Sample(ids, 1000, seed: 1), Is.EqualTo(ids));
        // Roughly uniform: the sample's mean id is near the population's (std of the mean ≈ 83).
        Assert.That(a.Average(), Is.EqualTo(ids.Average()).Within(350));
    }

    [Test]
    public void CovarianceAccumulatorMatchesTheTwoPassFormulaFarFromZero()
    {
        var rng = new Random(9);
        int n = 301, d = 13;
        var data = new float[n * d];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(1e4 + Gaussian(rng) * (1 + i % d));
        var acc = new CovarianceAccumulator(d);
        foreach (var (s, len) in new[] { (0, 5), (5, 200), (205, 96) }) acc.Add(data.AsSpan(s * d, len * d));
        var (mean, cov) = acc.Finish();
        Assert.That(acc.Count, Is.EqualTo(n));
        double Mean(int i) => Enumerable.Range(0, n).Average(r => (double)data[r * d + i]);
        double Variance(int i) => Enumerable.Range(0, n).Sum(r => Math.Pow(data[r * d + i] - Mean(i), 2)) / (n - 1);
        for (int i = 0; i < d; i++)
        {
            double m = Mean(i);
            Assert.That(mean[i], Is.EqualTo(m).Within(1e-9 * 1e4));
            for (int j = 0; j < d; j++)
            {
                double mj = Enumerable.Range(0, n).Average(r => (double)data[r * d + j]);
                double c = Enumerable.Range(0, n).Sum(r => (data[r * d + i] - m) * (data[r * d + j] - mj)) / (n - 1);
                // Products are summed in float32 within blocks of 256 rows (CovarianceAccumulator): ~1e-7 of the scale.
                double scale = Math.Sqrt(Variance(i) * Variance(j));
                Assert.That(cov[i * d + j], Is.EqualTo(c).Within(1e-6 * scale), $"({i},{j})");
            }
        }
    }
}
