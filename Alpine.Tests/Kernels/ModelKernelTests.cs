using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;
using ILGPU;
using ILGPU.Runtime;
using static Alpine.Tests.Kernels.KernelFixtures;
using Alpine.Kernels.Backend;
using Alpine.Kernels.Device;

namespace Alpine.Tests.Kernels;

/// <summary>
/// The whole-model kernels (x gather, row moves, the CSR fan-in, fusion, BCE backward, L2) against their CPU twins
/// at small odd shapes; on ILGPU's CPU accelerator (<see cref="ModelKernelCpuTests"/>) and on CUDA
/// (<see cref="ModelKernelCudaTests"/>). Gathers, copies and the fan-in add in the CPU's order, so they must
/// match bit for bit; the arithmetic kernels within tolerance.
/// </summary>
public abstract class ModelKernelChecks : KernelChecks
{
    private MemoryBuffer1D<T, Stride1D.Dense> Up<T>(T[] host) where T : unmanaged
    {
        var buffer = Acc.Allocate1D<T>(Math.Max(1, host.Length));
        if (host.Length > 0) buffer.View.SubView(0, host.Length).CopyFromCPU(host);
        return buffer;
    }

    private static T[] Down<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, int length) where T : unmanaged
    {
        var host = new T[length];
        buffer.View.SubView(0, length).CopyToCPU(host);
        return host;
    }

    // Thacil-shaped (3 category dims before 5 visual dims) and kuaishou-shaped (visual only).
    [TestCase(3, 5)]
    [TestCase(0, 5)]
    public void GatherItemsMatchesItemEmbedding(int dc, int dv)
    {
        var rng = new Random(dc + 7 * dv);
        const int items = 11, categories = 4;
        int d = dc + dv;
        int[]? itemCategory = dc > 0 ? Enumerable.Range(0, items).Select(_ => rng.Next(categories)).ToArray() : null;
        var table = new ItemTable(Random(rng, items * dv), dv, itemCategory, dc > 0 ? categories : 0);
        float[] category = Random(rng, categories * dc);
        int[] ids = [4, 0, 10, 4, 7, 3, 4];
        var expected = new float[ids.Length * d];
        for (int r = 0; r < ids.Length; r++) ItemEmbedding.Gather<float>(expected.AsSpan(r * d, d), table, category, ids[r]);

        using var idsDev = Up(ids);
        using var catOfItem = Up(itemCategory ?? [0]);
        using var catDev = Up(category);
        using var visual = Up(table.Visual);
        using var x = Acc.Allocate1D<float>(ids.Length * d);
        Kernels.GatherItems(ids.Length * d, new ItemDims { Dc = dc, Dv = dv }, idsDev.View, catOfItem.View, catDev.View, visual.View, x.View);
        Assert.That(Down(x, ids.Length * d), Is.EqualTo(expected));
    }

    // Copy, scaled copy, accumulate, scaled accumulate: a 4-column block between rows of different widths.
    [TestCase(1f, false)]
    [TestCase(0.37f, false)]
    [TestCase(1f, true)]
    [TestCase(-1.9f, true)]
    public void CopyBlockMatchesLoop(float scale, bool accumulate)
    {
        var rng = new Random(3);
        const int rows = 5, cols = 4, srcStride = 11, srcOffset = 3, dstStride = 9, dstOffset = 2;
        float[] src = Random(rng, rows * srcStride), dst = Random(rng, rows * dstStride);
        float[] expected = (float[])dst.Clone();
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++)
            {
                float v = scale * src[r * srcStride + srcOffset + k];
                ref float e = ref expected[r * dstStride + dstOffset + k];
                e = accumulate ? e + v : v;
            }
        using var s = Up(src);
        using var t = Up(dst);
        Kernels.CopyBlock(rows * cols, RowBlock.Copy(cols, srcStride, srcOffset, dstStride, dstOffset, scale, accumulate), s.View, t.View);
        var (rtol, atol) = Tolerance;
        AssertClose("dst", Down(t, dst.Length), expected, rtol, atol);
    }

    [Test]
    public void GatherRowsMatchesLoop()
    {
        var rng = new Random(4);
        const int tableRows = 6, cols = 5, dstStride = 13, dstOffset = 7;
        int[] ids = [5, 0, 5, 2, 3, 1, 5];
        float[] table = Random(rng, tableRows * cols), dst = Random(rng, ids.Length * dstStride);
        float[] expected = (float[])dst.Clone();
        for (int r = 0; r < ids.Length; r++) table.AsSpan(ids[r] * cols, cols).CopyTo(expected.AsSpan(r * dstStride + dstOffset, cols));
        using var idsDev = Up(ids);
        using var s = Up(table);
        using var t = Up(dst);
        Kernels.GatherRows(ids.Length * cols, RowBlock.Copy(cols, cols, 0, dstStride, dstOffset), idsDev.View, s.View, t.View);
        Assert.That(Down(t, dst.Length), Is.EqualTo(expected));
    }

    /// <summary>
    /// The fan-in: sources grouped by key (repeats, unused keys, a key used once), added into pre-filled rows one by
    /// one in source order, as the CPU model's loops do; the CSR itself is checked too. Bit for bit: same order.
    /// </summary>
    [Test]
    public void AddGroupedRowsMatchesSequentialAdds()
    {
        var rng = new Random(5);
        int[] keys = [3, 0, 3, 5, 3, 0, 6, 3];
        const int keyCount = 9, cols = 3, srcStride = 7, srcOffset = 2;
        float[] src = Random(rng, keys.Length * srcStride), dst = Random(rng, keyCount * cols);
        float[] expected = (float[])dst.Clone();
        for (int i = 0; i < keys.Length; i++)
            for (int k = 0; k < cols; k++) expected[keys[i] * cols + k] += src[i * srcStride + srcOffset + k];

        using var up = new IndexUpload(Kernels);
        var fan = new FanIn();
        fan.Build(up, keys, keyCount);
        up.Upload();
        Assert.That(fan.Groups, Is.EqualTo(4));
        Assert.That(up.Host(fan.Rows)[..4].ToArray(), Is.EqualTo(new[] { 0, 3, 5, 6 }));
        Assert.That(up.Host(fan.Offsets)[..5].ToArray(), Is.EqualTo(new[] { 0, 2, 6, 7, 8 }));
        Assert.That(up.Host(fan.Sources).ToArray(), Is.EqualTo(new[] { 1, 5, 0, 2, 4, 7, 3, 6 }));

        using var s = Up(src);
        using var t = Up(dst);
        Kernels.AddGroupedRows(fan.Groups * cols, RowBlock.Copy(cols, srcStride, srcOffset, cols, 0), up.View(fan.Rows), up.View(fan.Offsets),
            up.View(fan.Sources), s.View, t.View);
        Assert.That(Down(t, dst.Length), Is.EqualTo(expected));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void FusionMatchesLoss(int heads)
    {
        var rng = new Random(heads);
        const int b = 7;
        float[] alphas = new[] { 0.58f, 0.18f, 0.24f }[..heads];
        float[] headLogits = Random(rng, heads * b, 3f), dlogits = Random(rng, b);
        float[] logits = new float[b], dhead = new float[heads * b];
        Loss.FusionForward<float>(logits, headLogits, alphas);
        Loss.FusionBackward<float>(dhead, dlogits, alphas);

        using var hl = Up(headLogits);
        using var y = Acc.Allocate1D<float>(b);
        using var dy = Up(dlogits);
        using var dhl = Acc.Allocate1D<float>(heads * b);
        Kernels.FusionForward(b, FusionArgs.Of(alphas, b), hl.View, y.View);
        Kernels.FusionBackward(heads * b, FusionArgs.Of(alphas, b), dy.View, dhl.View);
        var (rtol, atol) = Tolerance;
        AssertClose("logits", Down(y, b), logits, rtol, atol);
        AssertClose("dheadLogits", Down(dhl, heads * b), dhead, rtol, atol);
    }

    [Test]
    public void BceBackwardMatchesLoss()
    {
        // Both signs, zero, and logits far enough out that a naive σ would overflow.
        float[] logits = [0f, 2.5f, -2.5f, 31f, -31f, 90f, -90f, 0.3f, -7.1f];
        float[] labels = [1f, 0f, 1f, 0f, 1f, 1f, 0f, 0f, 1f];
        float[] expected = new float[logits.Length];
        Loss.BceBackward<float>(expected, logits, labels);
        using var z = Up(logits);
        using var y = Up(labels);
        using var dz = Acc.Allocate1D<float>(logits.Length);
        Kernels.BceBackward(logits.Length, 1f / logits.Length, z.View, y.View, dz.View);
        var (rtol, atol) = Tolerance;
        AssertClose("dlogits", Down(dz, logits.Length), expected, rtol, atol * 1e-2);
    }

    /// <summary>L2 over a layout with a weight larger than one chunk (a ragged last chunk), a recurrent block, and
    /// tensors without L2 (bias, embedding) that must stay untouched; λ = 0 turns both off.</summary>
    /// <summary>
    /// The split fan-in (pieces of ≈√(longest group) sources summed first, then each group's pieces in order) gives
    /// the sums of sequential adds, for groups far longer than a piece, a group of one, and a block inside wider rows.
    /// </summary>
    [Test]
    public void SplitFanInMatchesSequentialAdds()
    {
        var rng = new Random(12);
        const int n = 301, keyCount = 7, cols = 5, srcStride = 8, srcOffset = 1, dstStride = 9, dstOffset = 3;
        // Key 2 gets most sources (a group of ~180), key 6 one, keys 0 and 4 none.
        int[] keys = Enumerable.Range(0, n).Select(i => i == 17 ? 6 : i % 5 == 0 ? 1 : i % 7 == 0 ? 5 : i % 11 == 0 ? 3 : 2).ToArray();
        float[] src = Random(rng, n * srcStride), dst = Random(rng, keyCount * dstStride);
        double[] expected = dst.Select(v => (double)v).ToArray();
        for (int i = 0; i < n; i++)
            for (int k = 0; k < cols; k++) expected[keys[i] * dstStride + dstOffset + k] += src[i * srcStride + srcOffset + k];

        using var up = new IndexUpload(Kernels);
        var fan = new FanIn(split: true);
        fan.Build(up, keys, keyCount);
        up.Upload();
        Assert.That(fan.Split, Is.True, "a group of ~180 sources is cut into pieces of 32");
        Assert.That(fan.Groups, Is.EqualTo(5));
        using var s = Up(src);
        using var t = Up(dst);
        using var scratch = new DeviceArray<float>(Acc);
        fan.Add(Kernels, up, RowBlock.Copy(cols, srcStride, srcOffset, dstStride, dstOffset), s.View, t.View, scratch);
        var (rtol, atol) = Tolerance;
        AssertClose("dst", Down(t, dst.Length), expected.Select(v => (float)v).ToArray(), Math.Max(rtol, 1e-6), Math.Max(atol, 1e-6));
    }

    [TestCase(0.3f)]
    [TestCase(0f)]
    public void GpuL2MatchesLoss(float lambda)
    {
        var layout = new ParameterLayout();
        layout.Add("w", 37, 41, TensorKind.Weight);
        layout.Add("b", 1, 9, TensorKind.Bias);
        layout.Add("r", 5, 7, TensorKind.Recurrent);
        layout.Add("e", 3, 4, TensorKind.Embedding);
        var rng = new Random(6);
        float[] p = Random(rng, layout.Size), g = Random(rng, layout.Size);
        double expectedLoss = Loss.L2Forward<float>(layout, p, lambda);
        float[] expectedG = (float[])g.Clone();
        Loss.L2Backward<float>(expectedG, layout, p, lambda);

        using var l2 = new GpuL2(Kernels, layout, lambda);
        Assert.That(l2.Chunks, Is.EqualTo(lambda == 0 ? 0 : 3), "1517 weights in two chunks, 35 recurrent in one; none to bring down at λ = 0");
        using var pd = Up(p);
        using var gd = Up(g);
        using var partial = Up(new float[Math.Max(1, l2.Chunks)]);
        l2.Launch(pd.View.SubView(0, p.Length), partial.View.SubView(0, l2.Chunks));
        double loss = l2.Value(Down(partial, l2.Chunks));
        l2.Backward(gd.View.SubView(0, g.Length), pd.View.SubView(0, p.Length));
        var (rtol, atol) = Tolerance;
        Assert.That(loss, Is.EqualTo(expectedLoss).Within(rtol * expectedLoss + atol));
        AssertClose("g", Down(gd, g.Length), expectedG, rtol, atol);
    }
}

[TestFixture, Category("Kernels")]
public class ModelKernelCpuTests : ModelKernelChecks
{
    protected override DeviceHandle Open() => AcceleratorFactory.CreateCpuForTests();
    protected override (double Rtol, double Atol) Tolerance => (1e-6, 1e-7);
}

[TestFixture, Category("Cuda")]
public class ModelKernelCudaTests : ModelKernelChecks
{
    protected override DeviceHandle Open() => CudaOrIgnore();
    // ex2.approx in σ; FMA contraction in the scaled adds.
    protected override (double Rtol, double Atol) Tolerance => (1e-5, 1e-6);
}
