using Alpine.Cpu;
using Alpine.Model;
using ILGPU;
using ILGPU.Runtime;
using static Alpine.Tests.Kernels.KernelFixtures;
using Alpine.Kernels.Device;
using Alpine.Kernels.Gemm;
using Alpine.Kernels.GraphLstm;
using Alpine.Kernels.Optim;

namespace Alpine.Tests.Kernels;

/// <summary>
/// Every kernel against its CPU reference at small odd shapes (not multiples of the group size). The same
/// body runs on ILGPU's CPU accelerator (<see cref="CellKernelCpuTests"/>) and on CUDA (<see cref="CellKernelCudaTests"/>).
/// </summary>
public abstract class CellKernelChecks : KernelChecks
{
    // (graph, c* reading, top-L, schedule, D, H, sequences per group): graph Neighbor/Carried × L 1/3, umg, both
    // schedules, tiles of 1, 4 and auto (3 here: partial tiles as sequences end), and an H wider than the CPU
    // device's 64-thread group so threads own several hidden units.
    [TestCase(true, CStarReading.Neighbor, 1, CellSchedule.StepLaunch, 5, 6, 1)]
    [TestCase(true, CStarReading.Carried, 1, CellSchedule.StepLaunch, 5, 6, 4)]
    [TestCase(true, CStarReading.Neighbor, 3, CellSchedule.StepLaunch, 5, 6, 0)]
    [TestCase(true, CStarReading.Carried, 3, CellSchedule.StepLaunch, 5, 6, 2)]
    [TestCase(false, CStarReading.Neighbor, 1, CellSchedule.StepLaunch, 5, 6, 0)]
    [TestCase(true, CStarReading.Neighbor, 1, CellSchedule.Persistent, 5, 6, 1)]
    [TestCase(true, CStarReading.Carried, 3, CellSchedule.Persistent, 5, 6, 4)]
    [TestCase(false, CStarReading.Neighbor, 1, CellSchedule.Persistent, 5, 6, 0)]
    [TestCase(true, CStarReading.Neighbor, 2, CellSchedule.Persistent, 3, 67, 0, Category = "Slow")]
    [TestCase(true, CStarReading.Carried, 2, CellSchedule.StepLaunch, 3, 67, 4, Category = "Slow")]
    public void GraphLstmMatchesCpuReference(bool useGraph, CStarReading cstar, int topL, CellSchedule schedule, int d, int h, int tile)
    {
        var rng = new Random(17 + topL + h);
        int[] lengths = h > 64 ? [4, 1, 0, 3] : [7, 1, 5, 0, 3, 9];
        var seqs = Sequences(rng, lengths, topL);
        int g = useGraph ? 8 : 4, n = seqs.TotalSteps;
        float[] wx = Random(rng, g * h * d, 0.6f), wh = Random(rng, 4 * h * h, 0.6f), wg = useGraph ? Random(rng, 4 * h * h, 0.6f) : [];
        float[] b = Random(rng, g * h, 0.3f), x = Random(rng, n * d), dh = Random(rng, n * h);

        var cpu = new GraphLstm<float>(d, h, useGraph, cstar, topL);
        float[] hRef = new float[n * h], dxRef = new float[n * d];
        float[] dwxRef = new float[wx.Length], dwhRef = new float[wh.Length], dwgRef = new float[wg.Length], dbRef = new float[b.Length];
        cpu.Forward(wx, wh, wg, b, seqs, x, hRef);
        cpu.Backward(wx, wh, wg, b, seqs, x, dh, dxRef, dwxRef, dwhRef, dwgRef, dbRef);

        using var gpu = new HostGraphLstm(Kernels, d, h, useGraph, cstar, topL, schedule);
        // Persistent: two groups, so a group owns several sequences; half the weight rows on chip.
        gpu.Layer.PersistentGroups = 2;
        gpu.Layer.SharedRowsLimit = h / 2;
        gpu.Layer.SequenceTile = tile;
        float[] hGpu = new float[n * h], dxGpu = new float[n * d];
        // Gradients accumulate: start from a non-zero buffer and expect reference + start.
        float[] start = Random(rng, wx.Length);
        float[] dwxGpu = (float[])start.Clone(), dwhGpu = new float[wh.Length], dwgGpu = new float[wg.Length], dbGpu = new float[b.Length];
        gpu.Forward(wx, wh, wg, b, seqs, x, hGpu);
        gpu.Backward(wx, wh, wg, b, seqs, x, dh, dxGpu, dwxGpu, dwhGpu, dwgGpu, dbGpu);
        for (int i = 0; i < start.Length; i++) dwxRef[i] += start[i];

        var (rtol, atol) = Tolerance;
        AssertClose("h", hGpu, hRef, rtol, atol);
        AssertClose("dx", dxGpu, dxRef, rtol, atol);
        AssertClose("dWx", dwxGpu, dwxRef, rtol, atol);
        AssertClose("dWh", dwhGpu, dwhRef, rtol, atol);
        AssertClose("dWg", dwgGpu, dwgRef, rtol, atol);
        AssertClose("db", dbGpu, dbRef, rtol, atol);
    }

    // C = A·B in every stride combination the layer uses, with bias and accumulate, at odd sizes; split-K
    // with a ragged last slice; the ReLU store (an MLP's hidden layer), also after a split.
    [TestCase(37, 19, 5, false, false, true, false, 1, false)]
    [TestCase(21, 33, 17, true, false, false, true, 1, false)]
    [TestCase(9, 40, 29, false, true, false, true, 1, false)]
    [TestCase(1, 1, 1, true, true, true, true, 1, false)]
    [TestCase(7, 9, 75, true, false, true, true, 3, false)]
    [TestCase(18, 5, 50, false, false, false, false, 4, false)]
    [TestCase(35, 13, 11, false, false, true, false, 1, true)]
    [TestCase(6, 7, 70, false, true, true, true, 3, true)]
    public void GemmMatchesNaiveProduct(int m, int n, int k, bool transA, bool transB, bool bias, bool accumulate, int splits, bool relu)
    {
        var rng = new Random(m * 31 + n);
        float[] a = Random(rng, m * k), bm = Random(rng, k * n), bv = Random(rng, n), c0 = Random(rng, m * n);
        var d = new GemmDims
        {
            M = m, N = n, K = k, Ldc = n, HasBias = bias ? 1 : 0, Accumulate = accumulate ? 1 : 0, Relu = relu ? 1 : 0,
            Sam = transA ? 1 : k, Sak = transA ? m : 1, Sbk = transB ? 1 : n, Sbn = transB ? k : 1,
        };
        var expected = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = (accumulate ? c0[i * n + j] : 0) + (bias ? bv[j] : 0);
                for (int e = 0; e < k; e++) s += (double)a[i * d.Sam + e * d.Sak] * bm[e * d.Sbk + j * d.Sbn];
                expected[i * n + j] = relu ? (float)Math.Max(s, 0) : (float)s;
            }
        using var da = Acc.Allocate1D(a);
        using var db = Acc.Allocate1D(bm);
        using var dbias = Acc.Allocate1D(bv);
        using var dc = Acc.Allocate1D(c0);
        Kernels.RunGemm(d, da.View, db.View, bias ? dbias.View : default, dc.View, splits);
        AssertClose("C", dc.GetAsArray1D(), expected, 1e-5, 1e-5);
        if (relu) Assert.That(expected.Count(v => v == 0f), Is.InRange(1, expected.Length - 1), "the case clips some values, not all");
    }

    [Test]
    public void ColumnSumsAddOverChunks()
    {
        var rng = new Random(9);
        const int rows = 601, cols = 7; // three 256-row chunks, the last ragged
        float[] a = Random(rng, rows * cols), db = Random(rng, cols);
        var expected = new float[cols];
        for (int c = 0; c < cols; c++)
        {
            double s = db[c];
            for (int r = 0; r < rows; r++) s += a[r * cols + c];
            expected[c] = (float)s;
        }
        using var da = Acc.Allocate1D(a);
        using var ddb = Acc.Allocate1D(db);
        Kernels.AddColumnSumsOf(da.View, rows, cols, ddb.View);
        AssertClose("db", ddb.GetAsArray1D(), expected, 1e-5, 1e-5);
    }

    [Test]
    public void AdamAndNormMatchTheSharedRule()
    {
        var rng = new Random(5);
        const int size = 17_003; // five norm groups (4,096 each), the last ragged
        float[] p = Random(rng, size), g = Random(rng, size, 3f), m = Random(rng, size, 0.1f), v = Random(rng, size, 0.1f);
        for (int i = 0; i < size; i++) v[i] = Math.Abs(v[i]);
        var settings = new AdamSettings(ClipNorm: 5f);
        using var dp = Acc.Allocate1D(p);
        using var dg = Acc.Allocate1D(g);
        using var dm = Acc.Allocate1D(m);
        using var dv = Acc.Allocate1D(v);
        using var adam = new GpuAdam(Kernels);
        float normGpu = adam.Step(dp.View, dg.View, dm.View, dv.View, settings, step: 3);
        float normCpu = Adam.Step(p, g, m, v, settings, 3);
        // float partial sums on the device against float64 chunks on the host.
        Assert.That(normGpu, Is.EqualTo(normCpu).Within(1e-3).Percent, "global norm");
        AssertClose("p", dp.GetAsArray1D(), p, 1e-5, 1e-6);
        AssertClose("m", dm.GetAsArray1D(), m, 1e-5, 1e-7);
        AssertClose("v", dv.GetAsArray1D(), v, 1e-5, 1e-8);
    }
}

[TestFixture, Category("Kernels")]
public class CellKernelCpuTests : CellKernelChecks
{
    protected override DeviceHandle Open() => AcceleratorFactory.CreateCpuForTests();
    protected override (double Rtol, double Atol) Tolerance => (1e-4, 1e-5);
}

[TestFixture, Category("Cuda")]
public class CellKernelCudaTests : CellKernelChecks
{
    protected override DeviceHandle Open() => CudaOrIgnore();
    // PTX's tanh.approx.f32 has ~5e-4 relative error, compounded over the recurrence.
    protected override (double Rtol, double Atol) Tolerance => (5e-3, 5e-4);
}
