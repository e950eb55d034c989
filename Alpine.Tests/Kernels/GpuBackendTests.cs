using Alpine.Data;
using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;
using static Alpine.Tests.Kernels.KernelFixtures;
using Alpine.Kernels.Backend;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;

namespace Alpine.Tests.Kernels;

/// <summary>
/// The GPU backend (the whole model on the device) against the CPU backend: loss, logits, the whole flat gradient
/// buffer, predict, Adam steps, determinism, for every variant × profile × attention × c* reading × top-L, on a
/// tiny batch that mixes SharedPrefix-shaped overlapping windows, Window-shaped ones, empty windows and targets
/// sharing a user; on ILGPU's CPU accelerator and (<see cref="GpuBackendCudaTests"/>) on CUDA.
/// </summary>
public abstract class GpuBackendChecks : KernelChecks
{
    private const int Users = 4, Items = 13, Visual = 5, Categories = 4;

    private static ItemTable ItemsOf(ModelConfig c, Random rng)
    {
        int[]? category = c.Profile == Profile.Thacil ? Enumerable.Range(0, Items).Select(i => i % Categories).ToArray() : null;
        return new ItemTable(Random(rng, Items * Visual), Visual, category, category is null ? 0 : Categories);
    }

    /// <summary>
    /// Six targets over five click and five not-click sequences. Targets 0, 1, 3 (user 2) share sequence 0 with
    /// overlapping windows, one starting after 0 (SharedPrefix shape), and are not consecutive; target 2 has an
    /// empty click sequence, target 3 an empty window on a non-empty not-click sequence, target 4 an empty
    /// not-click sequence; targets 4, 5 own their sequences (Window shape); sequence 4 has no target at all.
    /// </summary>
    private static Batch Mixed(ModelConfig c, Random rng)
    {
        int[] clickLengths = [6, 0, 3, 2, 4], notLengths = [3, 4, 0, 2, 1];
        return new Batch
        {
            Clicks = Sequences(rng, clickLengths, c.TopL, Items), NotClicks = Sequences(rng, notLengths, c.TopL, Items),
            TargetUser = [2, 2, 0, 2, 1, 3], TargetItem = [3, 7, 12, 0, 5, 7], Label = [1f, 0f, 1f, 0f, 1f, 0f],
            ClickSeq = [0, 0, 1, 0, 2, 3], ClickStart = [0, 1, 0, 0, 0, 1], ClickEnd = [2, 5, 0, 6, 3, 2],
            NotClickSeq = [0, 0, 1, 0, 2, 3], NotClickStart = [0, 0, 1, 2, 0, 0], NotClickEnd = [1, 3, 4, 2, 0, 2],
        };
    }

    /// <summary>Window shape only, fewer targets and rows than <see cref="Mixed"/> (to check that grown buffers
    /// are reused correctly for a smaller batch); unlabelled (scoring) when <paramref name="labelled"/> is false; with
    /// <paramref name="noNotClicks"/> the not-click branch has no position at all (N = 0).</summary>
    private static Batch Windows(ModelConfig c, Random rng, bool labelled = true, bool noNotClicks = false)
    {
        int[] clickLengths = [5, 0, 3], notLengths = noNotClicks ? [0, 0, 0] : [1, 4, 0];
        return new Batch
        {
            Clicks = Sequences(rng, clickLengths, c.TopL, Items), NotClicks = Sequences(rng, notLengths, c.TopL, Items),
            TargetUser = [0, 3, 0], TargetItem = [12, 1, 4], Label = labelled ? [0f, 1f, 1f] : [],
            ClickSeq = [0, 1, 2], ClickStart = [0, 0, 0], ClickEnd = clickLengths,
            NotClickSeq = [0, 1, 2], NotClickStart = [0, 0, 0], NotClickEnd = notLengths,
        };
    }

    /// <summary>H ≠ D for bilinear (a transposed W_a would show); scaled dot needs H = D. Thacil gets α3 ≠ 0 so its
    /// user head (and the category fan-in through it) is on.</summary>
    private static ModelConfig Config(Variant variant, Profile profile, AttentionKind attention, CStarReading cstar, int topL) => new()
    {
        Profile = profile, Variant = variant, Attention = attention, CStar = cstar, TopL = topL,
        VisualDim = Visual, CategoryDim = 3, Hidden = attention == AttentionKind.Bilinear ? 6 : 0, MlpHidden = 7, Window = 10,
        Alphas = profile == Profile.Thacil ? [0.5f, 0.3f, 0.2f] : null,
        // An L2 term large enough to show in the gradient at the Cuda tolerance.
        L2 = 0.01f,
    };

    /// <summary>Every variant × profile × attention × (c* reading, top-L 1/2); umg has no graph path, so one
    /// reading. The schedule alternates so every variant, profile and attention meets both. All but three cases are
    /// <c>Slow</c>: the fast loop keeps the full model in each profile with the other attention and schedule, and
    /// the plain LSTM.</summary>
    protected static IEnumerable<TestCaseData> Cases()
    {
        foreach (Variant v in Enum.GetValues<Variant>())
            foreach (Profile p in new[] { Profile.Kuaishou, Profile.Thacil })
                foreach (AttentionKind a in Enum.GetValues<AttentionKind>())
                    foreach (CStarReading r in v == Variant.UMG ? [CStarReading.Neighbor] : Enum.GetValues<CStarReading>())
                        foreach (int l in new[] { 1, 2 })
                        {
                            var schedule = (r == CStarReading.Neighbor) == (l == 1) == (a == AttentionKind.Bilinear) ? CellSchedule.StepLaunch : CellSchedule.Persistent;
                            var data = new TestCaseData(Config(v, p, a, r, l), schedule).SetName($"{v}_{p}_{a}_{r}_L{l}_{schedule}");
                            bool fast = r == CStarReading.Neighbor && l == 1 && (v, p, a) is
                                (Variant.Alpine, Profile.Kuaishou, AttentionKind.Bilinear) or
                                (Variant.Alpine, Profile.Thacil, AttentionKind.ScaledDot) or
                                (Variant.UMG, Profile.Kuaishou, AttentionKind.Bilinear);
                            yield return fast ? data : data.SetCategory("Slow");
                        }
    }

    private (CpuBackend Cpu, GpuBackend Gpu, ParameterLayout Layout) Backends(ModelConfig config, ItemTable items)
    {
        var layout = ModelLayout.Create(config, Users, items.CategoryCount);
        float[] init = ParameterInit.Create(config, layout, items, null, seed: 7);
        // Non-zero user rows so the multi-level head's gradient is exercised.
        if (layout.Contains("user.U")) Random(new Random(3), layout["user.U"].Size, 0.5f).CopyTo(layout["user.U"].Of(init));
        return (new CpuBackend(config, items, Users, init), new GpuBackend(config, items, Users, init, Acc), layout);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesCpuBackend(ModelConfig config, CellSchedule schedule)
    {
        var rng = new Random(11);
        var items = ItemsOf(config, rng);
        var batch = Mixed(config, rng);
        var (cpu, gpu, layout) = Backends(config, items);
        using (cpu) using (gpu)
        {
            gpu.Schedule = schedule;
            CompareStep(cpu, gpu, batch, layout, "");
        }
    }

    /// <summary>Zeroes both gradients, runs ForwardBackward on both and compares loss, logits and the flat gradient.</summary>
    private void CompareStep(CpuBackend cpu, GpuBackend gpu, Batch batch, ParameterLayout layout, string what)
    {
        var (rtol, atol) = Tolerance;
        cpu.ZeroGradients(); gpu.ZeroGradients();
        float[] lc = new float[batch.TargetCount], lg = new float[batch.TargetCount];
        float lossCpu = cpu.ForwardBackward(batch, lc), lossGpu = gpu.ForwardBackward(batch, lg);
        Assert.That(lossGpu, Is.EqualTo(lossCpu).Within(rtol * Math.Abs(lossCpu) + atol), $"{what}loss");
        AssertClose($"{what}logits", lg, lc, rtol, atol);
        float[] gc = new float[layout.Size], gg = new float[layout.Size];
        cpu.CopyGradientsTo(gc); gpu.CopyGradientsTo(gg);
        Assert.That(gc.Any(v => v != 0f), "the CPU gradient is not all zero");
        foreach (TensorSlot s in layout.Slots)
            AssertClose($"{what}gradient of {s.Name}", s.Of(gg), s.Of(gc), rtol, atol);
    }

    /// <summary>Buffers grown for a larger batch serve a smaller one (and the larger again) without stale rows; a
    /// branch with no positions at all.</summary>
    [Test, Category("Slow")]
    public void BatchesOfChangingShapeMatchCpuBackend()
    {
        var config = Config(Variant.Alpine, Profile.Thacil, AttentionKind.Bilinear, CStarReading.Neighbor, 2);
        var rng = new Random(5);
        var items = ItemsOf(config, rng);
        Batch large = Mixed(config, rng), small = Windows(config, rng);
        var (cpu, gpu, layout) = Backends(config, items);
        using (cpu) using (gpu)
        {
            CompareStep(cpu, gpu, large, layout, "large: ");
            CompareStep(cpu, gpu, small, layout, "small after large: ");
            CompareStep(cpu, gpu, large, layout, "large again: ");
            CompareStep(cpu, gpu, Windows(config, rng, noNotClicks: true), layout, "no not-click positions: ");
            float[] pc = new float[small.TargetCount], pg = new float[small.TargetCount];
            cpu.Predict(small, pc); gpu.Predict(small, pg);
            var (rtol, atol) = Tolerance;
            AssertClose("predict small after large", pg, pc, rtol, atol);
        }
    }

    /// <summary>
    /// Long sequences (214 rows of x over 4 categories) so the category fan-in is cut into pieces (groups longer than
    /// 32) and many SharedPrefix-shaped sliding windows share a sequence (the attention fan-in's binary search skips
    /// most targets of a row's sequence): the whole backend still matches the CPU's.
    /// </summary>
    [TestCase(CellSchedule.StepLaunch, Category = "Slow")]
    [TestCase(CellSchedule.Persistent, Category = "Slow")]
    public void LongSequencesMatchCpuBackend(CellSchedule schedule)
    {
        var config = Config(Variant.Alpine, Profile.Thacil, AttentionKind.Bilinear, CStarReading.Neighbor, 2);
        var rng = new Random(21);
        var items = ItemsOf(config, rng);
        int[] clickLengths = [61, 47, 0], notLengths = [39, 52, 3];
        // Twelve targets: sliding windows of ≤ 10 (the config's W) over sequences 0 and 1, not in window order.
        int[] seq = [0, 1, 0, 0, 1, 2, 0, 1, 1, 0, 2, 0], end = [20, 47, 61, 5, 12, 0, 33, 30, 3, 48, 0, 9];
        int[] notSeq = [1, 0, 1, 1, 0, 2, 1, 0, 0, 1, 2, 1], notEnd = [52, 39, 7, 18, 25, 3, 44, 10, 39, 30, 1, 0];
        var batch = new Batch
        {
            Clicks = Sequences(rng, clickLengths, config.TopL, Items), NotClicks = Sequences(rng, notLengths, config.TopL, Items),
            TargetUser = [0, 1, 0, 0, 1, 2, 0, 1, 1, 0, 2, 3], TargetItem = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            Label = [1f, 0f, 1f, 1f, 0f, 0f, 1f, 0f, 1f, 0f, 1f, 0f],
            ClickSeq = seq, ClickEnd = end, ClickStart = end.Select(e => Math.Max(0, e - 10)).ToArray(),
            NotClickSeq = notSeq, NotClickEnd = notEnd, NotClickStart = notEnd.Select(e => Math.Max(0, e - 10)).ToArray(),
        };
        var (cpu, gpu, layout) = Backends(config, items);
        using (cpu) using (gpu)
        {
            gpu.Schedule = schedule;
            CompareStep(cpu, gpu, batch, layout, "");
        }
    }

    /// <summary>SPEC D13: no atomics and fixed reduction orders, so reruns (same backend, or a fresh one) give the same bits.</summary>
    [TestCase(CellSchedule.StepLaunch, Category = "Slow")]
    [TestCase(CellSchedule.Persistent)]
    public void RunsAreBitIdentical(CellSchedule schedule)
    {
        var config = Config(Variant.Alpine, Profile.Thacil, AttentionKind.Bilinear, CStarReading.Carried, 2);
        var rng = new Random(9);
        var items = ItemsOf(config, rng);
        var batch = Mixed(config, rng);
        var layout = ModelLayout.Create(config, Users, items.CategoryCount);
        float[] init = ParameterInit.Create(config, layout, items, null, seed: 7);
        (float Loss, float[] Logits, float[] Gradient) Run(GpuBackend gpu)
        {
            gpu.ZeroGradients();
            float[] logits = new float[batch.TargetCount], g = new float[layout.Size];
            float loss = gpu.ForwardBackward(batch, logits);
            gpu.CopyGradientsTo(g);
            return (loss, logits, g);
        }
        using var first = new GpuBackend(config, items, Users, init, Acc) { Schedule = schedule };
        using var second = new GpuBackend(config, items, Users, init, Acc) { Schedule = schedule };
        var a = Run(first);
        foreach (var (b, what) in new[] { (Run(first), "same backend"), (Run(second), "fresh backend") })
        {
            Assert.That(b.Loss, Is.EqualTo(a.Loss), $"{what}: loss");
            Assert.That(b.Logits, Is.EqualTo(a.Logits), $"{what}: logits");
            Assert.That(b.Gradient, Is.EqualTo(a.Gradient), $"{what}: gradient");
        }
    }

    /// <summary>A few Adam steps (gradients, clipping, moments, parameters all on the device) track the CPU backend;
    /// parameters and optimizer state load and copy back unchanged.</summary>
    [Test, Category("Slow")]
    public void AdamStepsTrackCpuBackend()
    {
        var config = Config(Variant.Alpine, Profile.Thacil, AttentionKind.Bilinear, CStarReading.Neighbor, 1);
        var rng = new Random(13);
        var items = ItemsOf(config, rng);
        var batch = Mixed(config, rng);
        var (cpu, gpu, layout) = Backends(config, items);
        var (rtol, atol) = Tolerance;
        using (cpu) using (gpu)
        {
            var adam = new AdamSettings(LearningRate: 1e-3f, ClipNorm: 0.5f);
            for (int step = 1; step <= 3; step++)
            {
                CompareStep(cpu, gpu, batch, layout, $"step {step}: ");
                float nc = cpu.Step(adam, step), ng = gpu.Step(adam, step);
                Assert.That(ng, Is.EqualTo(nc).Within(rtol * nc + atol), $"step {step}: gradient norm");
            }
            int size = layout.Size;
            float[] qc = new float[size], qg = new float[size], mc = new float[size], mg = new float[size], vc = new float[size], vg = new float[size];
            cpu.CopyParametersTo(qc); gpu.CopyParametersTo(qg);
            AssertClose("parameters after 3 steps", qg, qc, rtol, atol);
            cpu.CopyOptimizerStateTo(mc, vc); gpu.CopyOptimizerStateTo(mg, vg);
            AssertClose("Adam m after 3 steps", mg, mc, rtol, atol);
            AssertClose("Adam v after 3 steps", vg, vc, rtol, atol * atol);
            // The host → device → host round trips are exact.
            gpu.LoadParameters(qc); gpu.LoadOptimizerState(mc, vc);
            gpu.CopyParametersTo(qg); gpu.CopyOptimizerStateTo(mg, vg);
            Assert.That(qg, Is.EqualTo(qc), "loaded parameters");
            Assert.That(mg, Is.EqualTo(mc), "loaded m");
            Assert.That(vg, Is.EqualTo(vc), "loaded v");
        }
    }

    /// <summary>
    /// What a train step costs the device besides arithmetic (docs/ARCHITECTURE.md "GPU backend"): one copy up (every
    /// index array, schedule and label), two copies down, which are its only waits for the device (the logits with
    /// the L2 partials after the whole backward is queued; the clip norm's partials), and launches that grow with the
    /// longest sequence of each branch only when the recurrence is launched per step. Predict: one up, one down.
    /// </summary>
    [TestCase(Profile.Kuaishou, 73)]
    [TestCase(Profile.Thacil, 81, Category = "Slow")]
    public void TrainStepMakesOneUploadTwoDownloadsAndBoundedLaunches(Profile profile, int persistentLaunches)
    {
        var config = Config(Variant.Alpine, profile, AttentionKind.Bilinear, CStarReading.Neighbor, 1);
        var rng = new Random(4);
        var items = ItemsOf(config, rng);
        var batch = Mixed(config, rng);
        var (cpu, gpu, _) = Backends(config, items);
        using (cpu) using (gpu)
        {
            float[] logits = new float[batch.TargetCount];
            var adam = new AdamSettings(LearningRate: 1e-3f);
            KernelCounts Step(CellSchedule schedule)
            {
                gpu.Schedule = schedule;
                gpu.ZeroGradients();
                var before = gpu.Counts;
                gpu.ForwardBackward(batch, logits);
                gpu.Step(adam, 1);
                return gpu.Counts - before;
            }
            KernelCounts stepped = Step(CellSchedule.StepLaunch), persistent = Step(CellSchedule.Persistent);
            TestContext.Out.WriteLine($"{profile}: per-step launch {stepped}, persistent {persistent}");
            foreach (var (c, what) in new[] { (stepped, "per-step launch"), (persistent, "persistent") })
            {
                Assert.That(c.Uploads, Is.EqualTo(1), $"{what}: copies up");
                Assert.That(c.Downloads, Is.EqualTo(2), $"{what}: copies down");
            }
            // Mixed: the longest click sequence has 6 steps, the longest not-click one 4; forward and backward.
            Assert.That(stepped.Launches - persistent.Launches, Is.EqualTo(2 * ((6 - 1) + (4 - 1))), "per-step launches");
            Assert.That(persistent.Launches, Is.LessThanOrEqualTo(persistentLaunches), "launches of a persistent train step");
            var before = gpu.Counts;
            gpu.Predict(batch, logits);
            var predict = gpu.Counts - before;
            Assert.That((predict.Uploads, predict.Downloads), Is.EqualTo((1L, 1L)), "predict: copies up and down");
        }
    }

    /// <summary>The per-batch host work (index arrays, fan-in CSRs) allocates nothing once a batch's shapes were seen.</summary>
    [Test]
    public void PackingABatchAllocatesNothingOnceShapesAreSeen()
    {
        var config = Config(Variant.Alpine, Profile.Thacil, AttentionKind.Bilinear, CStarReading.Neighbor, 2);
        var rng = new Random(8);
        var items = ItemsOf(config, rng);
        Batch large = Mixed(config, rng), small = Windows(config, rng);
        using var model = new GpuModel(Kernels, config, ModelLayout.Of(config, Users, items.CategoryCount), items, Users);
        model.Pack(large);
        model.Pack(small);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Pack(large);
        model.Pack(small);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void ForwardBackwardWithoutLabelsIsRefused()
    {
        var config = Config(Variant.Alpine, Profile.Kuaishou, AttentionKind.Bilinear, CStarReading.Neighbor, 1);
        var rng = new Random(2);
        var items = ItemsOf(config, rng);
        var unlabelled = Windows(config, rng, labelled: false);
        var (cpu, gpu, _) = Backends(config, items);
        using (cpu) using (gpu)
        {
            float[] pc = new float[3], pg = new float[3];
            cpu.Predict(unlabelled, pc); gpu.Predict(unlabelled, pg);
            var (rtol, atol) = Tolerance;
            AssertClose("predict without labels", pg, pc, rtol, atol);
            Assert.Throws<ArgumentException>(() => gpu.ForwardBackward(unlabelled, pg));
        }
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
}
