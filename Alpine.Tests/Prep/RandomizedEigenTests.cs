using Alpine.Cpu;
using Alpine.Data;
using Alpine.Data.Synthetic;
using Alpine.Prep;
using MathNet.Numerics.LinearAlgebra;

namespace Alpine.Tests.Prep;

[TestFixture]
public class RandomizedEigenTests
{
    private const int K = 64;

    /// <summary>The largest principal angle (rad) between the spans of two (k, d) row sets of orthonormal vectors.</summary>
    private static double MaxPrincipalAngle(double[] a, double[] b, int d, int k)
    {
        var ma = Matrix<double>.Build.Dense(d, k, (i, c) => a[c * d + i]);
        var mb = Matrix<double>.Build.Dense(d, k, (i, c) => b[c * d + i]);
        // The singular values of AᵀB are the cosines of the principal angles; asin of the residual is exact near 0.
        var residual = mb - ma * (ma.Transpose() * mb);
        return Math.Asin(Math.Min(1, residual.L2Norm()));
    }

    /// <summary>C = U Λ Uᵀ with λ_i = i^−½ and U a product of three Householder reflections (dense eigenvectors).</summary>
    private static (double[] Cov, double[] TopVectors, double[] Lambda) SlowSpectrum(int d)
    {
        var rng = new Random(5);
        var u = new double[d * d];
        for (int i = 0; i < d; i++) u[i * d + i] = 1;
        for (int h = 0; h < 3; h++)
        {
            var v = Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5).ToArray();
            double norm = Math.Sqrt(v.Sum(x => x * x));
            for (int i = 0; i < d; i++) v[i] /= norm;
            for (int r = 0; r < d; r++)
            {
                double s = 0;
                for (int i = 0; i < d; i++) s += u[r * d + i] * v[i];
                for (int i = 0; i < d; i++) u[r * d + i] -= 2 * s * v[i];
            }
        }
        var lambda = Enumerable.Range(1, d).Select(i => 1 / Math.Sqrt(i)).ToArray();
        var ul = new double[d * d];
        for (int r = 0; r < d; r++)
            for (int c = 0; c < d; c++) ul[r * d + c] = u[r * d + c] * lambda[c];
        var cov = new double[d * d];
        Gemm.Multiply<double>(cov, d, ul, d, false, u, d, true, d, d, d, accumulate: false, parallel: true);
        var top = new double[K * d];                    // (K, d): the planted eigenvectors, columns of U
        for (int c = 0; c < K; c++)
            for (int i = 0; i < d; i++) top[c * d + i] = u[i * d + c];
        return (cov, top, lambda);
    }

    private static (double[] Cov, double[] TopVectors, double[] Lambda)? _slow;
    private static (double[] Cov, double[] TopVectors, double[] Lambda) Slow => _slow ??= SlowSpectrum(2048);

    [Test]
    public void OnASlowSpectrumTheDefaultIterationsReachTheSubspaceAndFewerDoNot()
    {
        // λ_i = i^−½ at d = 2048: λ_129/λ_64 = 0.70 per iteration is all the power iterations have to work with.
        var (cov, truth, lambda) = Slow;
        int d = 2048;
        var (values, vectors) = RandomizedEigen.Top(cov, d, K, seed: 1);
        double angle = MaxPrincipalAngle(truth, vectors, d, K);
        TestContext.Out.WriteLine($"slow spectrum: top-64 angle {angle:E2} rad");
        Assert.That(angle, Is.LessThanOrEqualTo(1e-3 / 2), "the default q reaches the top-64 subspace with margin");
        for (int c = 0; c < K; c++)
            Assert.That(Math.Abs(values[c] - lambda[c]) / lambda[c], Is.LessThanOrEqualTo(1e-3), $"eigenvalue {c}");

        var (_, fewer) = RandomizedEigen.Top(cov, d, K, seed: 1, powerIterations: 16);
        Assert.That(MaxPrincipalAngle(truth, fewer, d, K), Is.GreaterThan(1e-3), "q = 16 is not enough: q is what makes it pass");
    }

    [Test]
    public void IsBitIdenticalPerSeedAndAgreesAcrossSeeds()
    {
        var (cov, truth, _) = Slow;
        int d = 2048;
        var a = RandomizedEigen.Top(cov, d, K, seed: 7);
        var b = RandomizedEigen.Top(cov, d, K, seed: 7);
        Assert.That(b.Values, Is.EqualTo(a.Values));
        Assert.That(b.Vectors, Is.EqualTo(a.Vectors));
        var other = RandomizedEigen.Top(cov, d, K, seed: 8);
        Assert.That(other.Vectors, Is.Not.EqualTo(a.Vectors), "the seed draws the test matrix");
        Assert.That(MaxPrincipalAngle(truth, other.Vectors, d, K), Is.LessThanOrEqualTo(1e-3));
    }

    [Test]
    public void OnSyntheticFeaturesMatchesTheFullEvdWhereTheDataDeterminesIt()
    {
        // Features drawn as `alpine generate` draws them (24 structured directions plus isotropic noise), 20,000 rows
        // at the thacil width (512) so that the full EVD to compare with stays quick.
        int d = 512, n = 20_000;
        var data = new float[n * d];
        new SyntheticFeatures(SyntheticWorld.Create(new SyntheticSize(10, n, 100), 1), d).ComputeRows(0, data);
        var (mean, cov) = Pca.Covariance(new ArrayFeatureRows(data, d), Enumerable.Range(0, n).ToArray());
        AssertAgreesWhereTheDataDetermines(mean, cov, n);
    }

    [Test, Category("Slow")]
    public void OnTheSmallPresetsFeaturesMatchesTheFullEvdWhereTheDataDeterminesIt()
    {
        // `alpine generate --preset small` (seed 1): 50,000 items × 2048-d, all of them fitted (prepare fits the
        // ~49,600 of the train part); the full EVD of the 2048² covariance is most of this test's time.
        var world = SyntheticWorld.Create(SyntheticPreset.Small, 1);
        var features = new SyntheticFeatures(world, SyntheticSize.FeatureDim(Profile.Kuaishou));
        var (mean, cov) = Pca.Covariance(new SyntheticRows(features, world.Size.Items), Enumerable.Range(0, world.Size.Items).ToArray());
        AssertAgreesWhereTheDataDetermines(mean, cov, world.Size.Items);
    }

    /// <summary>
    /// The randomized top-64 against the full EVD's top-65 of one covariance: the structured subspace (up to the largest
    /// eigen-gap) within 1e-3 rad and its eigenvalues within 1e-3, the rest within 1e-2 and its variance within 1%.
    /// </summary>
    private static void AssertAgreesWhereTheDataDetermines(double[] mean, double[] cov, int n)
    {
        int d = mean.Length;
        var fullModel = Pca.FromCovariance(mean, cov, n, K + 1, PcaEigen.Full);
        var fastModel = Pca.FromCovariance(mean, cov, n, K, PcaEigen.Randomized, seed: 1);
        var full = (Values: fullModel.Variances, Vectors: fullModel.Components);
        var fast = (Values: fastModel.Variances, Vectors: fastModel.Components);

        // Past the structured directions the sample eigenvalues of the noise crowd together (λ_64/λ_65 − 1 is a few
        // 1e-4), so no 64-d subspace is singled out by the data: the comparison is of the structured subspace (up to
        // the largest eigen-gap) and of the variance and eigenvalues in the rest.
        Assert.That(full.Values[K - 1] / full.Values[K], Is.LessThan(1.01), "the 64th direction lies in the noise bulk");
        int signal = Enumerable.Range(1, K - 1).MaxBy(c => full.Values[c - 1] / full.Values[c]);
        Assert.That(signal, Is.EqualTo(24), "the generator's latent dimension");
        double angle = MaxPrincipalAngle(full.Vectors[..(signal * d)], fast.Vectors[..(signal * d)], d, signal);
        TestContext.Out.WriteLine($"d = {d}: structured-subspace angle {angle:E2} rad; λ24 = {full.Values[23]:G4}, λ25 = {full.Values[24]:G4}, λ64/λ65 = {full.Values[K - 1] / full.Values[K]:F5}");
        Assert.That(angle, Is.LessThanOrEqualTo(1e-3));
        for (int c = 0; c < signal; c++)
            Assert.That(Math.Abs(fast.Values[c] - full.Values[c]) / full.Values[c], Is.LessThanOrEqualTo(1e-3), $"eigenvalue {c}");
        for (int c = signal; c < K; c++)
            Assert.That(Math.Abs(fast.Values[c] - full.Values[c]) / full.Values[c], Is.LessThanOrEqualTo(1e-2), $"bulk eigenvalue {c}");
        double captured = fast.Values.Skip(signal).Sum(), best = full.Values.Skip(signal).Take(K - signal).Sum();
        Assert.That(captured / best, Is.GreaterThan(1 - 1e-2).And.LessThanOrEqualTo(1 + 1e-12), "bulk variance captured");
    }

    /// <summary>Generated feature rows read through <see cref="IFeatureRows"/>, as prepare reads items.npy.</summary>
    private sealed class SyntheticRows(SyntheticFeatures features, int rows) : IFeatureRows
    {
        public long Rows => rows;
        public int Cols => features.Dim;
        public void ReadRows(long firstRow, Span<float> dest) => features.ComputeRows(firstRow, dest);
    }

    [Test]
    public void PcaFitsTheSameComponentsEitherWayAndRotatesWithTheFullEvd()
    {
        // A planted spectrum with clear gaps: both methods give the same signed components.
        var rng = new Random(11);
        int n = 600, d = 90, k = 6;
        var basis = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, k).Select(c => (k - c) * (rng.NextDouble() - 0.5)).ToArray();
            for (int j = 0; j < d; j++)
            {
                double v = 1e-3 * (rng.NextDouble() - 0.5);
                for (int c = 0; c < k; c++) v += z[c] * basis[c * d + j];
                data[i * d + j] = (float)v;
            }
        }
        var rows = Enumerable.Range(0, n).ToArray();
        var randomized = Pca.Fit(new ArrayFeatureRows(data, d), rows, k, eigen: PcaEigen.Randomized, seed: 3);
        var full = Pca.Fit(new ArrayFeatureRows(data, d), rows, k, eigen: PcaEigen.Full);
        Assert.That(randomized.Components, Is.EqualTo(full.Components).Within(1e-8));
        Assert.That(randomized.Variances, Is.EqualTo(full.Variances).Within(1e-9));

        // Keeping every dim (the SPEC D3 rotation) always takes the full EVD.
        var all = Pca.Fit(new ArrayFeatureRows(data, d), rows, d, eigen: PcaEigen.Randomized, seed: 3);
        Assert.That(all.Components, Is.EqualTo(Pca.Fit(new ArrayFeatureRows(data, d), rows, d, eigen: PcaEigen.Full).Components));
    }

    [Test]
    public void ACovarianceOfLowerRankThanTheBlockStillGivesOrthonormalVectors()
    {
        // 20 fit rows at d = 200: rank ≤ 19 < l = 6 + 64, where Gram-Schmidt alone would lose orthogonality.
        var rng = new Random(4);
        int n = 20, d = 200, k = 6;
        var data = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var rows = Enumerable.Range(0, n).ToArray();
        var m = Pca.Fit(new ArrayFeatureRows(data, d), rows, k);
        var full = Pca.Fit(new ArrayFeatureRows(data, d), rows, k, eigen: PcaEigen.Full);
        var v = Matrix<double>.Build.Dense(d, k, (i, c) => m.Components[c * d + i]);
        Assert.That((v.Transpose() * v - Matrix<double>.Build.DenseIdentity(k)).Enumerate().Max(Math.Abs), Is.LessThan(1e-12));
        Assert.That(m.Variances, Is.EqualTo(full.Variances).Within(1e-9));
    }
}
