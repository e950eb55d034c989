using Alpine.Data;
using Alpine.Cpu;
using Alpine.Kernels;
using Alpine.Model;
using static Alpine.Tests.Kernels.KernelFixtures;

namespace Alpine.Tests.Kernels;

/// <summary>
/// The GPU backend's loss, logits, flat gradient buffer and Adam step against the CPU backend's on a tiny
/// batch, for every variant; on ILGPU's CPU accelerator and (<see cref="GpuBackendCudaTests"/>) on CUDA.
/// </summary>
public abstract class GpuBackendChecks
{
    private DeviceHandle? _device;

    protected abstract DeviceHandle Open();
    protected abstract (double Rtol, double Atol) Tolerance { get; }

    [OneTimeTearDown]
    public void CloseDevice() { _device?.Dispose(); _device = null; }

    private const int Users = 3, Items = 13, Visual = 5;

    private static (ItemTable Items, Batch Batch) TinyWorld(ModelConfig c, int seed)
    {
        var rng = new Random(seed);
        int[]? category = c.Profile == Profile.Thacil ? Enumerable.Range(0, Items).Select(i => i % 4).ToArray() : null;
        var items = new ItemTable(Random(rng, Items * Visual), Visual, category, category is null ? 0 : 4);
        int[] clickLengths = [5, 0, 3, 2], notLengths = [1, 4, 0, 2];
        var clicks = Sequences(rng, clickLengths, c.TopL, Items);
        var notClicks = Sequences(rng, notLengths, c.TopL, Items);
        int b = clickLengths.Length;
        var batch = new Batch
        {
            Clicks = clicks, NotClicks = notClicks,
            TargetUser = [0, 2, 1, 2], TargetItem = [3, 7, 12, 0], Label = [1f, 0f, 1f, 0f],
            ClickSeq = Enumerable.Range(0, b).ToArray(), ClickStart = new int[b], ClickEnd = clickLengths,
            // A window that starts after 0 (SharedPrefix shape) on target 1.
            NotClickSeq = Enumerable.Range(0, b).ToArray(), NotClickStart = [0, 1, 0, 0], NotClickEnd = notLengths,
        };
        return (items, batch);
    }

    protected static IEnumerable<TestCaseData> Variants()
    {
        var baseConfig = new ModelConfig { VisualDim = Visual, Hidden = 6, MlpHidden = 7, Window = 10 };
        yield return new TestCaseData(baseConfig).SetName("Alpine_Neighbor");
        yield return new TestCaseData(baseConfig with { CStar = CStarReading.Carried, TopL = 3 }).SetName("Alpine_Carried_L3");
        yield return new TestCaseData(baseConfig with { TopL = 3 }).SetName("Alpine_Neighbor_L3");
        foreach (var v in new[] { Variant.U, Variant.M, Variant.UM, Variant.UMG })
            yield return new TestCaseData(baseConfig with { Variant = v }).SetName($"Variant_{v}");
        yield return new TestCaseData(baseConfig with { Hidden = 0, Attention = AttentionKind.ScaledDot }).SetName("ScaledDot");
        yield return new TestCaseData(baseConfig with { Profile = Profile.Thacil, CategoryDim = 3, Alphas = [0.5f, 0.3f, 0.2f] }).SetName("Thacil");
    }

    [TestCaseSource(nameof(Variants))]
    public void MatchesCpuBackend(ModelConfig config) => Compare(config);

    protected void Compare(ModelConfig config)
    {
        _device ??= Open();
        var (items, batch) = TinyWorld(config, 11);
        var layout = ModelLayout.Create(config, Users, items.CategoryCount);
        float[] init = ParameterInit.Create(config, layout, items, null, seed: 7);
        // Non-zero user rows so the multi-level head's gradient is exercised.
        if (layout.Contains("user.U")) Random(new Random(3), layout["user.U"].Size, 0.5f).CopyTo(layout["user.U"].Of(init));

        using var cpu = new CpuBackend(config, items, Users, init);
        using var gpu = new GpuBackend(config, items, Users, init, _device.Accelerator);
        var (rtol, atol) = Tolerance;
        foreach (var schedule in new[] { CellSchedule.StepLaunch, CellSchedule.Persistent })
        {
            gpu.Schedule = schedule;
            cpu.ZeroGradients(); gpu.ZeroGradients();
            float[] lc = new float[batch.TargetCount], lg = new float[batch.TargetCount];
            float lossCpu = cpu.ForwardBackward(batch, lc), lossGpu = gpu.ForwardBackward(batch, lg);
            Assert.That(lossGpu, Is.EqualTo(lossCpu).Within(rtol * Math.Abs(lossCpu) + atol), $"{schedule}: loss");
            AssertClose($"{schedule}: logits", lg, lc, rtol, atol);
            float[] gc = new float[layout.Size], gg = new float[layout.Size];
            cpu.CopyGradientsTo(gc); gpu.CopyGradientsTo(gg);
            Assert.That(gc.Any(v => v != 0f), "the CPU gradient is not all zero");
            AssertClose($"{schedule}: flat gradient", gg, gc, rtol, atol);
            // SPEC D13: no atomics, fixed reduction orders, so a second pass gives the same bits.
            gpu.ZeroGradients();
            float[] lg2 = new float[batch.TargetCount], gg2 = new float[layout.Size];
            Assert.That(gpu.ForwardBackward(batch, lg2), Is.EqualTo(lossGpu), $"{schedule}: loss run to run");
            gpu.CopyGradientsTo(gg2);
            Assert.That(gg2, Is.EqualTo(gg), $"{schedule}: gradient run to run");
            float[] pc = new float[batch.TargetCount], pg = new float[batch.TargetCount];
            cpu.Predict(batch, pc); gpu.Predict(batch, pg);
            AssertClose($"{schedule}: predict", pg, pc, rtol, atol);
        }
        // One Adam step from equal gradients gives equal parameters and moments.
        var adam = new AdamSettings(LearningRate: 0.01f, ClipNorm: 0.5f);
        float nc = cpu.Step(adam, 1), ng = gpu.Step(adam, 1);
        Assert.That(ng, Is.EqualTo(nc).Within(rtol * nc + atol), "gradient norm");
        float[] qc = new float[layout.Size], qg = new float[layout.Size], mc = new float[layout.Size], mg = new float[layout.Size];
        cpu.CopyParametersTo(qc); gpu.CopyParametersTo(qg);
        AssertClose("parameters after a step", qg, qc, rtol, atol);
        cpu.CopyOptimizerStateTo(mc, new float[layout.Size]); gpu.CopyOptimizerStateTo(mg, new float[layout.Size]);
        AssertClose("Adam m after a step", mg, mc, rtol, atol);
    }
}

[TestFixture, Category("Kernels")]
public class GpuBackendCpuAcceleratorTests : GpuBackendChecks
{
    protected override DeviceHandle Open() => AcceleratorFactory.CreateCpuForTests();
    protected override (double Rtol, double Atol) Tolerance => (1e-4, 1e-5);
}

[TestFixture, Category("Cuda")]
public class GpuBackendCudaTests : GpuBackendChecks
{
    protected override DeviceHandle Open() => CudaOrIgnore();
    // PTX's tanh.approx.f32 (~5e-4 relative) through the LSTM, then the heads and the loss.
    protected override (double Rtol, double Atol) Tolerance => (1e-2, 1e-3);

    /// <summary>Every variant in one test, for the SDK-less category runner (tests' Program.cs), which does not
    /// expand TestCaseSource.</summary>
    [Test]
    public void MatchesCpuBackendOnEveryVariant()
    {
        foreach (var data in Variants()) Compare((ModelConfig)data.Arguments[0]!);
    }
}
