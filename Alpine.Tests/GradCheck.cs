using System.Text;

namespace Alpine.Tests;

/// <summary>
/// Central finite differences in float64 against an analytic gradient, llm.c's <c>check_tensor</c>:
/// one helper for every layer's backward.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// For each element θ_i of <paramref name="param"/>, (loss(θ + ε e_i) − loss(θ − ε e_i)) / 2ε, compared
    /// to <paramref name="analytic"/>[i] by the relative error |a − n| / max(|a| + |n|, <paramref name="floor"/>).
    /// <paramref name="loss"/> is called with <paramref name="param"/> itself, perturbed in place (and restored).
    /// Fails naming the worst elements when the largest relative error exceeds <paramref name="tolerance"/>.
    /// The floor makes tiny gradients compare absolutely: a central difference at ε = 1e-5 of an O(1) loss
    /// carries ~1e-11 of rounding, which is no evidence against an analytic value of 1e-6.
    /// Returns the largest relative error.
    /// </summary>
    public static double Check(string name, double[] param, Func<double[], double> loss, ReadOnlySpan<double> analytic,
        double epsilon = 1e-5, double tolerance = 1e-5, double floor = 1e-4) =>
        Check(name, param, 0, param.Length, loss, analytic, epsilon, tolerance, floor);

    /// <summary>
    /// As above for the elements [offset, offset + count) of <paramref name="param"/> only (one named tensor of a
    /// flat parameter buffer); <paramref name="analytic"/> holds their gradient.
    /// </summary>
    public static double Check(string name, double[] param, int offset, int count, Func<double[], double> loss, ReadOnlySpan<double> analytic,
        double epsilon = 1e-5, double tolerance = 1e-5, double floor = 1e-4)
    {
        Assert.That(analytic.Length, Is.EqualTo(count), $"{name}: analytic gradient length");
        var numeric = new double[count];
        for (int i = 0; i < count; i++)
        {
            double keep = param[offset + i];
            param[offset + i] = keep + epsilon;
            double up = loss(param);
            param[offset + i] = keep - epsilon;
            double down = loss(param);
            param[offset + i] = keep;
            numeric[i] = (up - down) / (2 * epsilon);
        }
        return AssertClose(name, analytic, numeric, tolerance, floor);
    }

    /// <summary>
    /// The comparison of <see cref="Check(string, double[], Func{double[], double}, ReadOnlySpan{double}, double, double, double)"/>
    /// on two given vectors (e.g. a float32 gradient against the float64 one): fails naming the worst elements
    /// when a relative error exceeds <paramref name="tolerance"/>; returns the largest.
    /// </summary>
    public static double AssertClose(string name, ReadOnlySpan<double> analytic, ReadOnlySpan<double> numeric, double tolerance, double floor = 1e-4)
    {
        Assert.That(numeric.Length, Is.EqualTo(analytic.Length), $"{name}: lengths");
        var errors = new (double Rel, int Index, double Analytic, double Numeric)[analytic.Length];
        for (int i = 0; i < analytic.Length; i++)
        {
            double rel = Math.Abs(analytic[i] - numeric[i]) / Math.Max(Math.Abs(analytic[i]) + Math.Abs(numeric[i]), floor);
            errors[i] = (double.IsNaN(rel) ? double.PositiveInfinity : rel, i, analytic[i], numeric[i]);
        }
        if (errors.Length == 0) return 0;
        var worst = errors.OrderByDescending(e => e.Rel).ToArray();
        if (worst[0].Rel > tolerance)
        {
            var msg = new StringBuilder($"{name}: max relative error {worst[0].Rel:E3} > {tolerance:E1} over {analytic.Length} elements; worst:\n");
            foreach (var e in worst.Take(8))
                msg.AppendLine($"  [{e.Index}] analytic {e.Analytic:E6} numeric {e.Numeric:E6} rel {e.Rel:E3}");
            Assert.Fail(msg.ToString());
        }
        return worst[0].Rel;
    }
}
