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
        double epsilon = 1e-5, double tolerance = 1e-5, double floor = 1e-4)
    {
        Assert.That(analytic.Length, Is.EqualTo(param.Length), $"{name}: analytic gradient length");
        var errors = new (double Rel, int Index, double Analytic, double Numeric)[param.Length];
        for (int i = 0; i < param.Length; i++)
        {
            double keep = param[i];
            param[i] = keep + epsilon;
            double up = loss(param);
            param[i] = keep - epsilon;
            double down = loss(param);
            param[i] = keep;
            double numeric = (up - down) / (2 * epsilon);
            double rel = Math.Abs(analytic[i] - numeric) / Math.Max(Math.Abs(analytic[i]) + Math.Abs(numeric), floor);
            errors[i] = (rel, i, analytic[i], numeric);
        }
        if (errors.Length == 0) return 0;
        var worst = errors.OrderByDescending(e => e.Rel).ToArray();
        if (worst[0].Rel > tolerance)
        {
            var msg = new StringBuilder($"{name}: max relative error {worst[0].Rel:E3} > {tolerance:E1} over {param.Length} elements; worst:\n");
            foreach (var e in worst.Take(8))
                msg.AppendLine($"  [{e.Index}] analytic {e.Analytic:E6} numeric {e.Numeric:E6} rel {e.Rel:E3}");
            Assert.Fail(msg.ToString());
        }
        return worst[0].Rel;
    }

    /// <summary>
    /// For each element i of <paramref name="x"/>[offset, offset+count): (f(x+εe_i) − f(x−εe_i)) / 2ε,
    /// compared with <paramref name="analytic"/>[i − offset]. x is restored.
    /// </summary>
    public static void Check(string name, double[] x, int offset, int count, Func<double> f, ReadOnlySpan<double> analytic,
        double eps = 1e-6, double rtol = 1e-5, double atol = 1e-8)
    {
        Assert.That(analytic.Length, Is.EqualTo(count), $"{name}: analytic gradient length");
        var numeric = new double[count];
        for (int i = 0; i < count; i++)
        {
            double keep = x[offset + i];
            x[offset + i] = keep + eps; double up = f();
            x[offset + i] = keep - eps; double down = f();
            x[offset + i] = keep;
            numeric[i] = (up - down) / (2 * eps);
        }
        AssertClose(name, analytic, numeric, rtol, atol);
    }

    /// <summary>Checks the whole of x.</summary>
    public static void Check(string name, double[] x, Func<double> f, ReadOnlySpan<double> analytic, double eps = 1e-6, double rtol = 1e-5, double atol = 1e-8) =>
        Check(name, x, 0, x.Length, f, analytic, eps, rtol, atol);

    /// <summary>|a − n| ≤ atol + rtol·max(|a|, |n|) everywhere; on failure lists the five worst elements.</summary>
    public static void AssertClose(string name, ReadOnlySpan<double> analytic, ReadOnlySpan<double> numeric, double rtol, double atol)
    {
        var bad = new List<(int Index, double Excess, double A, double N)>();
        for (int i = 0; i < analytic.Length; i++)
        {
            double a = analytic[i], n = numeric[i], allowed = atol + rtol * Math.Max(Math.Abs(a), Math.Abs(n));
            if (!(Math.Abs(a - n) <= allowed)) bad.Add((i, Math.Abs(a - n) / Math.Max(allowed, 1e-300), a, n));
        }
        if (bad.Count == 0) return;
        var msg = new StringBuilder($"{name}: {bad.Count} of {analytic.Length} elements differ; worst:");
        foreach (var (i, excess, a, n) in bad.OrderByDescending(b => b.Excess).Take(5))
            msg.Append($"\n  [{i}] analytic {a:G9} numeric {n:G9} rel.err {Math.Abs(a - n) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(n)), 1e-300):G3}");
        Assert.Fail(msg.ToString());
    }
}
