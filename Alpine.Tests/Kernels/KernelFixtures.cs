using Alpine.Kernels.Device;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Kernels;

/// <summary>Small odd-shaped inputs and one comparison helper shared by the kernel tests.</summary>
internal static class KernelFixtures
{
    /// <summary>Random values in ±scale.</summary>
    public static float[] Random(Random rng, int count, float scale = 1f) =>
        Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    /// <summary>Sequences with SPEC D4's edge shape: position 0 none, position 1 → 0, later positions up to L
    /// distinct random k ≤ t−2, padded with -1 when fewer exist. Items are random ids below
    /// <paramref name="itemCount"/>, or with 0 a distinct id per row (for callers whose x is random per row:
    /// the CPU graph-LSTM shares a projection between rows of one item).</summary>
    public static SequenceSet Sequences(Random rng, int[] lengths, int topL, int itemCount = 0)
    {
        var offsets = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) offsets[s + 1] = offsets[s] + lengths[s];
        int n = offsets[^1];
        var pred = Enumerable.Repeat(-1, n * topL).ToArray();
        for (int s = 0; s < lengths.Length; s++)
            for (int t = 1; t < lengths[s]; t++)
            {
                int row = (offsets[s] + t) * topL;
                if (t == 1) { pred[row] = 0; continue; }
                var candidates = Enumerable.Range(0, t - 1).OrderBy(_ => rng.Next()).Take(topL).ToArray();
                for (int l = 0; l < candidates.Length; l++) pred[row + l] = candidates[l];
            }
        var items = itemCount == 0 ? Enumerable.Range(0, n).ToArray() : Enumerable.Range(0, n).Select(_ => rng.Next(itemCount)).ToArray();
        return new SequenceSet(offsets, items, pred, topL);
    }

    /// <summary>|actual − expected| ≤ atol + rtol·|expected| everywhere; the failure names the worst element.</summary>
    public static void AssertClose(string name, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rtol, double atol)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{name}: length");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]), allowed = atol + rtol * Math.Abs(expected[i]);
            if (!(diff <= allowed) && (worst < 0 || diff / allowed > worstExcess)) { worst = i; worstExcess = diff / allowed; }
        }
        if (worst >= 0)
            Assert.Fail($"{name}: element {worst} is {actual[worst]:G9}, expected {expected[worst]:G9} (|diff| {Math.Abs(actual[worst] - expected[worst]):E2}, {worstExcess:F1}× the tolerance)");
    }

    /// <summary>A CUDA device, or the test is skipped with the reason.</summary>
    public static DeviceHandle CudaOrIgnore() =>
        AcceleratorFactory.TryCreateCuda() ?? throw new IgnoreException($"no CUDA device: {AcceleratorFactory.DescribeMissingCuda()}");
}
