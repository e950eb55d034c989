using Alpine.Reproduce;

namespace Alpine.Tests.Reproduce;

/// <summary>The paired tests against cases worked out by hand.</summary>
[TestFixture]
public class PairedTestTests
{
    // d = a − b = 1, 2, −3, 4, 5.
    private static readonly double[] A = [3, 4, 1, 9, 10], B = [2, 2, 4, 5, 5];

    [Test]
    public void TTestOfFiveDifferencesMatchesTheClosedFormForFourDegreesOfFreedom()
    {
        // mean 1.8; Σ(d − mean)² = 0.64 + 0.04 + 23.04 + 4.84 + 10.24 = 38.8; sd = √(38.8/4); t = 1.8 / (sd/√5).
        double t = 1.8 / (Math.Sqrt(38.8 / 4) / Math.Sqrt(5));
        Assert.That(t, Is.EqualTo(1.29232).Within(1e-5));
        // Student t with ν = 4: F(t) = 1/2 + (3/8)·x·(1 − x²/(12·(1 + x²/4))) with x = t/√(1 + t²/4).
        double x = t / Math.Sqrt(1 + t * t / 4);
        double cdf = 0.5 + 0.375 * x * (1 - t * t / (12 * (1 + t * t / 4)));
        var r = PairedTest.Compare(A, B);
        Assert.That(r.Pairs, Is.EqualTo(5));
        Assert.That(r.MeanDifference, Is.EqualTo(1.8).Within(1e-12));
        Assert.That(r.TTestP, Is.EqualTo(2 * (1 - cdf)).Within(1e-9));
        Assert.That(r.TTestP, Is.EqualTo(0.265846).Within(1e-5));
    }

    [Test]
    public void ExactWilcoxonCountsTheSignPatterns()
    {
        // |d| ranks 1…5; W⁺ = 1 + 2 + 4 + 5 = 12, W⁻ = 3. Patterns with W⁻ ≤ 3: {}, {1}, {2}, {3}, {1,2}: 5 of 32,
        // so the two-sided p is 10/32.
        Assert.That(PairedTest.Compare(A, B).WilcoxonP, Is.EqualTo(10.0 / 32).Within(1e-12));
        // All positive: only the empty pattern reaches W⁻ = 0, p = 2/32; the signs flipped give the same p.
        Assert.That(PairedTest.Wilcoxon([1, 2, 3, 4, 5]), Is.EqualTo(2.0 / 32).Within(1e-12));
        Assert.That(PairedTest.Wilcoxon([-1, -2, -3, -4, -5]), Is.EqualTo(2.0 / 32).Within(1e-12));
    }

    [Test]
    public void WilcoxonWithTiesUsesMidRanksAndTheTieCorrectedNormal()
    {
        // d = 1, −1, 2, 2, 2, 3 (a zero difference is dropped): |d| mid-ranks 1.5, 1.5, 4, 4, 4, 6; W⁺ = 1.5 + 12 + 6 = 19.5.
        // n = 6: mean 10.5; variance 6·7·13/24 − ((2³ − 2) + (3³ − 3))/48 = 22.75 − 0.625 = 22.125; z = 9/√22.125 = 1.91338.
        double p = PairedTest.Wilcoxon([1, -1, 2, 0, 2, 2, 3]);
        Assert.That(p, Is.EqualTo(0.055704).Within(2e-5));
    }

    [Test]
    public void DegenerateSamples()
    {
        Assert.That(PairedTest.Wilcoxon([0, 0, 0]), Is.EqualTo(1), "no non-zero difference");
        Assert.That(PairedTest.TTest([0.5, 0.5, 0.5]), Is.Zero, "a constant non-zero difference");
        Assert.That(PairedTest.TTest([0, 0]), Is.EqualTo(1));
        Assert.That(double.IsNaN(PairedTest.TTest([1])), "one pair has no variance");
        Assert.Throws<ArgumentException>(() => PairedTest.Compare([1, 2], [1]));
    }
}
