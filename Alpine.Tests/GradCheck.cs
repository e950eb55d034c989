using System.Text;

namespace Alpine.Tests;

/// <summary>
/// Central finite differences in float64 against an analytic gradient (STYLE.md: llm.c's check_tensor).
/// A failure names the tensor, its worst elements and their relative errors.
/// </summary>
public static class GradCheck
{
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
