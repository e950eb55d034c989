using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

// H = 6 runs only the scalar tail of the row loops; H = 40 (five Vector512<double>) runs the vector body.
[TestFixture(6)]
[TestFixture(40)]
public class AttentionTests(int h)
{
    private const int N = 7;
    private readonly int H = h;

    private static double[] Random(Random r, int n, double scale = 1) => Enumerable.Range(0, n).Select(_ => (2 * r.NextDouble() - 1) * scale).ToArray();

    /// <summary>Loss Σ_t r_t · f_t for targets with windows [start, end) of one sequence of N hidden states.</summary>
    private double LossOf(double[] hs, double[] q, (int Start, int End)[] windows, double[] r)
    {
        double loss = 0;
        var f = new double[H];
        for (int t = 0; t < windows.Length; t++)
        {
            var (s, e) = windows[t];
            Attention.Forward<double>(f, new double[e - s], hs.AsSpan(s * H, (e - s) * H), q.AsSpan(t * H, H));
            for (int k = 0; k < H; k++) loss += r[t * H + k] * f[k];
        }
        return loss;
    }

    [Test, Category("GradCheck")]
    [TestCase(new[] { 0, 7 }, TestName = "OneFullWindow")]
    [TestCase(new[] { 2, 5 }, TestName = "InnerWindow")]
    [TestCase(new[] { 0, 4, 2, 7, 1, 5 }, TestName = "OverlappingWindowsFanIn")]
    [TestCase(new[] { 3, 3, 0, 6 }, TestName = "EmptyWindowBesideAFullOne")]
    public void BackwardMatchesFiniteDifferences(int[] flatWindows)
    {
        var windows = Enumerable.Range(0, flatWindows.Length / 2).Select(i => (flatWindows[2 * i], flatWindows[2 * i + 1])).ToArray();
        var rng = new Random(3);
        double[] hs = Random(rng, N * H), q = Random(rng, windows.Length * H), r = Random(rng, windows.Length * H);

        var dhs = new double[N * H];
        var dq = new double[windows.Length * H];
        var f = new double[H];
        for (int t = 0; t < windows.Length; t++)
        {
            var (s, e) = windows[t];
            var alpha = new double[e - s];
            Attention.Forward<double>(f, alpha, hs.AsSpan(s * H, (e - s) * H), q.AsSpan(t * H, H));
            Attention.Backward<double>(dhs.AsSpan(s * H, (e - s) * H), dq.AsSpan(t * H, H), r.AsSpan(t * H, H), alpha,
                hs.AsSpan(s * H, (e - s) * H), q.AsSpan(t * H, H), f);
        }
        GradCheck.Check("dh", hs, _ => LossOf(hs, q, windows, r), dhs);
        GradCheck.Check("dq", q, _ => LossOf(hs, q, windows, r), dq);

        // Masks: rows outside every window receive exactly zero.
        for (int j = 0; j < N; j++)
            if (!windows.Any(w => w.Item1 <= j && j < w.Item2))
                Assert.That(dhs.AsSpan(j * H, H).ToArray(), Is.All.EqualTo(0.0), $"row {j} is outside every window");
    }

    [Test]
    public void EmptyWindowGivesZeroOutputAndZeroQueryGradient()
    {
        var f = Enumerable.Repeat(7.0, H).ToArray();
        var dq = Enumerable.Repeat(7.0, H).ToArray();
        var q = Enumerable.Repeat(1.0, H).ToArray();
        Attention.Forward<double>(f, [], [], q);
        Attention.Backward<double>([], dq, q, [], [], q, f);
        Assert.That(f, Is.All.EqualTo(0.0));
        Assert.That(dq, Is.All.EqualTo(0.0));
    }

    [Test]
    public void WeightsAreASoftmaxAndLargeScoresDoNotOverflow()
    {
        // Scores of ±1000 overflow a naive exp; the shifted softmax puts all weight on the largest.
        float[] hs = [1, 0, -1, 0, 0.5f, 0];
        float[] q = [1000, 0];
        var alpha = new float[3];
        var f = new float[2];
        Attention.Forward<float>(f, alpha, hs, q);
        Assert.That(alpha.Sum(), Is.EqualTo(1f).Within(1e-6f));
        Assert.That(alpha[0], Is.EqualTo(1f).Within(1e-6f));
        Assert.That(f, Is.EqualTo(new[] { 1f, 0f }).Within(1e-6f));
    }
}

/// <summary>
/// The float kernels at the model's widths (H = 64: four Vector512 a row; H = 80: a four-vector chunk and one more),
/// with windows of 1 to 37 rows (the four-row blocks of the scores and their remainders), against the same sums in
/// double.
/// </summary>
[TestFixture(64)]
[TestFixture(80)]
public class AttentionFloatTests(int h)
{
    [TestCase(1)]
    [TestCase(4)]
    [TestCase(7)]
    [TestCase(37)]
    public void ForwardAndBackwardEqualTheDoubleComputation(int n)
    {
        var rng = new Random(n);
        float[] R(int len) => [.. Enumerable.Range(0, len).Select(_ => (float)(2 * rng.NextDouble() - 1))];
        float[] hw = R(n * h), q = R(h), df = R(h), dhw = R(n * h);
        var f = new float[h];
        var alpha = new float[n];
        var dq = new float[h];
        var dhwIn = (float[])dhw.Clone();
        Attention.Forward<float>(f, alpha, hw, q);
        Attention.Backward<float>(dhw, dq, df, alpha, hw, q, f);

        double[] s = [.. Enumerable.Range(0, n).Select(j => Enumerable.Range(0, h).Sum(k => (double)hw[j * h + k] * q[k]))];
        double max = s.Max();
        double[] a = [.. s.Select(x => Math.Exp(x - max))];
        double sum = a.Sum();
        for (int j = 0; j < n; j++) a[j] /= sum;
        double[] fd = [.. Enumerable.Range(0, h).Select(k => Enumerable.Range(0, n).Sum(j => a[j] * hw[j * h + k]))];
        double dff = Enumerable.Range(0, h).Sum(k => (double)df[k] * fd[k]);
        double[] ds = [.. Enumerable.Range(0, n).Select(j => a[j] * (Enumerable.Range(0, h).Sum(k => (double)df[k] * hw[j * h + k]) - dff))];
        for (int j = 0; j < n; j++) Assert.That(alpha[j], Is.EqualTo(a[j]).Within(1e-5), $"α_{j}");
        for (int k = 0; k < h; k++)
        {
            Assert.That(f[k], Is.EqualTo(fd[k]).Within(1e-5), $"f_{k}");
            Assert.That(dq[k], Is.EqualTo(Enumerable.Range(0, n).Sum(j => ds[j] * hw[j * h + k])).Within(1e-4), $"dq_{k}");
            for (int j = 0; j < n; j++)
                Assert.That(dhw[j * h + k], Is.EqualTo(dhwIn[j * h + k] + a[j] * df[k] + ds[j] * q[k]).Within(1e-4), $"dh_{j},{k} (accumulated)");
        }
    }
}
