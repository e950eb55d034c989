using Alpine.Cpu;
using ILGPU;
using ILGPU.Runtime;
using static Alpine.Tests.Kernels.KernelFixtures;
using Alpine.Kernels.Attention;
using Alpine.Kernels.Device;
using Alpine.Kernels.Gemm;
using Alpine.Kernels.Mlp;

namespace Alpine.Tests.Kernels;

/// <summary>
/// The device heads (<see cref="GpuAttention"/>, <see cref="GpuMlp"/>) against their CPU references
/// (<see cref="Attention"/>, <see cref="Mlp"/>) at small odd shapes; the same body runs on ILGPU's CPU accelerator
/// (<see cref="HeadKernelCpuTests"/>) and on CUDA (<see cref="HeadKernelCudaTests"/>).
/// </summary>
public abstract class HeadKernelChecks : KernelChecks
{
    private const int XNew = 3; // x_new columns after f in each head-input row: u = [f ; x_new]

    /// <summary>A batch of attention targets: sequence lengths and each target's (sequence, window start, end).</summary>
    public sealed record Shape(string Name, int[] Lengths, (int Seq, int Start, int End)[] Targets)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Shape> Shapes()
    {
        // SharedPrefix: many targets per sequence, overlapping windows, targets of a sequence not adjacent in
        // target order, windows that start after 0, empty windows, an empty sequence.
        yield return new("SharedPrefix", [9, 0, 5, 12],
            [(0, 0, 3), (2, 0, 5), (0, 0, 9), (3, 2, 7), (1, 0, 0), (0, 4, 9), (3, 0, 12), (2, 1, 4), (3, 5, 5), (0, 2, 3), (3, 7, 12)]);
        // Window: one target per sequence over a suffix (the window mode), with an empty sequence.
        yield return new("Window", [4, 7, 0, 1, 6], [(0, 0, 4), (1, 2, 7), (2, 0, 0), (3, 0, 1), (4, 1, 6)]);
        // Windows longer than a group (64 positions), so threads and warps own several positions, overlapping.
        yield return new("LongWindow", [75, 3], [(0, 2, 75), (1, 0, 3), (0, 0, 70)]);
        // SharedPrefix at a small W: many targets per sequence with sliding windows [max(0, e − 6), e) in shuffled
        // target order, so most targets of a sequence do not cover a given row (the fan-in's binary search skips them).
        var rng = new Random(5);
        var sliding = Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? 0 : 1).Select(seq =>
        {
            int end = rng.Next(seq == 0 ? 31 : 18);
            return (seq, Math.Max(0, end - 6), end);
        }).ToArray();
        yield return new("Sliding", [30, 17], sliding);
        // N = 0: no rows at all, every window empty.
        yield return new("NoRows", [0, 0], [(0, 0, 0), (1, 0, 0), (0, 0, 0)]);
    }

    /// <summary>Host arrays of one attention call, in the layout of the <see cref="GpuAttention"/> contract.</summary>
    private sealed class AttentionCase
    {
        public int B, H, N, Stride, MaxWindow;
        public int[] RowStart = [], AlphaOffset = [], RowSequence = [], Order = [], SeqTargets = [];
        public float[] Hs = [], Q = [], U = [], Du = [], Dhs0 = [], Dq0 = [];

        public int Len(int t) => AlphaOffset[t + 1] - AlphaOffset[t];

        public static AttentionCase Make(Shape shape, int h, int seed)
        {
            var rng = new Random(seed);
            int s = shape.Lengths.Length, b = shape.Targets.Length;
            var offsets = new int[s + 1];
            for (int i = 0; i < s; i++) offsets[i + 1] = offsets[i] + shape.Lengths[i];
            var c = new AttentionCase { B = b, H = h, N = offsets[s], Stride = h + XNew };
            c.RowSequence = Enumerable.Range(0, s).SelectMany(i => Enumerable.Repeat(i, shape.Lengths[i])).ToArray();
            c.RowStart = shape.Targets.Select(t => offsets[t.Seq] + t.Start).ToArray();
            c.AlphaOffset = new int[b + 1];
            for (int t = 0; t < b; t++) c.AlphaOffset[t + 1] = c.AlphaOffset[t] + shape.Targets[t].End - shape.Targets[t].Start;
            // Targets grouped by sequence, within each by window start, then target (GpuAttention.Backward's contract).
            c.Order = Enumerable.Range(0, b).OrderBy(t => shape.Targets[t].Seq).ThenBy(t => shape.Targets[t].Start).ThenBy(t => t).ToArray();
            c.MaxWindow = shape.Targets.Select(t => t.End - t.Start).DefaultIfEmpty(0).Max();
            c.SeqTargets = new int[s + 1];
            for (int i = 0; i < s; i++) c.SeqTargets[i + 1] = c.SeqTargets[i] + shape.Targets.Count(t => t.Seq == i);
            // Large enough hidden states that the softmax is far from uniform.
            c.Hs = Random(rng, c.N * h, 1.5f);
            c.Q = Random(rng, b * h, 1.5f);
            c.U = Random(rng, b * c.Stride); // f columns are overwritten by the forward; x_new columns must survive
            c.Du = Random(rng, b * c.Stride);
            c.Dhs0 = Random(rng, c.N * h); // dhs accumulates: a non-zero start must be added to
            c.Dq0 = Random(rng, b * h, 9f); // dq is assigned: garbage must be overwritten
            return c;
        }

        /// <summary>The CPU reference: Attention.Forward per target, then Attention.Backward per sequence in target order.</summary>
        public (float[] U, float[] Alpha, float[] Dhs, float[] Dq) Reference()
        {
            int h = H;
            float[] u = (float[])U.Clone(), alpha = new float[AlphaOffset[B]], dhs = (float[])Dhs0.Clone(), dq = new float[B * h];
            for (int t = 0; t < B; t++)
                Attention.Forward(u.AsSpan(t * Stride, h), alpha.AsSpan(AlphaOffset[t], Len(t)), Hs.AsSpan(RowStart[t] * h, Len(t) * h), Q.AsSpan(t * h, h));
            // Target order (the CPU model's), not Order's start order: the device's sum order may differ, its value must not.
            for (int t = 0; t < B; t++)
                Attention.Backward(dhs.AsSpan(RowStart[t] * h, Len(t) * h), dq.AsSpan(t * h, h), Du.AsSpan(t * Stride, h),
                    alpha.AsSpan(AlphaOffset[t], Len(t)), Hs.AsSpan(RowStart[t] * h, Len(t) * h), Q.AsSpan(t * h, h), u.AsSpan(t * Stride, h));
            return (u, alpha, dhs, dq);
        }
    }

    /// <summary>Device buffers (at least one element each) and views of the exact length.</summary>
    private sealed class Uploads(Accelerator acc) : IDisposable
    {
        private readonly List<IDisposable> _buffers = [];

        public ArrayView<T> Put<T>(T[] host) where T : unmanaged
        {
            var buffer = acc.Allocate1D<T>(Math.Max(1, host.Length));
            _buffers.Add(buffer);
            var view = buffer.View.SubView(0, host.Length);
            if (host.Length > 0) view.CopyFromCPU(host);
            return view;
        }

        public void Dispose() { foreach (var b in _buffers) b.Dispose(); }
    }

    private static T[] Get<T>(ArrayView<T> view) where T : unmanaged
    {
        var host = new T[view.Length];
        if (host.Length > 0) view.CopyToCPU(host);
        return host;
    }

    /// <summary>Runs the device forward and backward; returns u, α, dhs, dq.</summary>
    private (float[] U, float[] Alpha, float[] Dhs, float[] Dq) RunAttention(AttentionCase c)
    {
        using var up = new Uploads(Acc);
        using var attention = new GpuAttention(Kernels);
        var u = up.Put(c.U);
        var alpha = up.Put(new float[c.AlphaOffset[c.B]]);
        var dhs = up.Put(c.Dhs0);
        var dq = up.Put(c.Dq0);
        ArrayView<int> aoff = up.Put(c.AlphaOffset), rowStart = up.Put(c.RowStart);
        ArrayView<float> hs = up.Put(c.Hs), q = up.Put(c.Q);
        attention.Forward(c.B, c.H, u, c.Stride, alpha, aoff, rowStart, hs, q);
        attention.Backward(c.B, c.H, dhs, dq, up.Put(c.Du), u, c.Stride, alpha, aoff, rowStart, up.Put(c.RowSequence),
            up.Put(c.Order), up.Put(c.SeqTargets), c.MaxWindow, hs, q);
        return (Get(u), Get(alpha), Get(dhs), Get(dq));
    }

    /// <summary>Every shape × H = 5, 7, 67, 128. The many-target shapes (sliding, long windows) at H > 5 are
    /// <c>Slow</c> on ILGPU's CPU accelerator: the fast loop keeps them at H = 5 and every other shape at every H.</summary>
    protected static IEnumerable<TestCaseData> AttentionCases() =>
        Shapes().SelectMany(shape => new[] { 5, 7, 67, 128 }.Select(h =>
        {
            var data = new TestCaseData(shape, h);
            return shape.Name is "Sliding" or "LongWindow" && h > 5 ? data.SetCategory("Slow") : data;
        }));

    [TestCaseSource(nameof(AttentionCases))]
    public void AttentionMatchesCpuReference(Shape shape, int h)
    {
        var c = AttentionCase.Make(shape, h, 11 + h);
        var expected = c.Reference();
        var actual = RunAttention(c);
        var (rtol, atol) = Tolerance;
        AssertClose("u (f and the untouched x_new)", actual.U, expected.U, rtol, atol);
        AssertClose("alpha", actual.Alpha, expected.Alpha, rtol, atol);
        AssertClose("dhs (start + fan-in)", actual.Dhs, expected.Dhs, rtol, atol);
        // dq sums α-weighted terms of every row of the window: its rounding scales with the largest of them, so a small
        // element is held to atol relative to the largest |dq| (without AVX-512 the host reference computes another way).
        AssertClose("dq", actual.Dq, expected.Dq, rtol, atol * Math.Max(1, expected.Dq.Max(Math.Abs)));
        // The reference itself must have moved dhs (every shape but NoRows covers rows), or the check proves nothing.
        if (c.N > 0) Assert.That(expected.Dhs, Is.Not.EqualTo(c.Dhs0));
    }

    [Test]
    public void AttentionRunsAreBitIdentical()
    {
        var c = AttentionCase.Make(Shapes().First(), 67, 3);
        var first = RunAttention(c);
        var second = RunAttention(c);
        Assert.That(second.U, Is.EqualTo(first.U).AsCollection, "u");
        Assert.That(second.Alpha, Is.EqualTo(first.Alpha).AsCollection, "alpha");
        Assert.That(second.Dhs, Is.EqualTo(first.Dhs).AsCollection, "dhs");
        Assert.That(second.Dq, Is.EqualTo(first.Dq).AsCollection, "dq");
    }

    /// <summary>Host arrays of one head call: u, dy, weights, and non-zero starting gradients.</summary>
    private sealed record MlpCase(int Rows, int Inputs, int Hidden, float[] U, float[] Dy, float[] W1, float[] B1, float[] W2, float[] B2,
        float[] Dw1, float[] Db1, float[] Dw2, float[] Db2, float[] Du0)
    {
        public static MlpCase Make(int rows, int inputs, int hidden, int seed)
        {
            var rng = new Random(seed);
            return new MlpCase(rows, inputs, hidden, Random(rng, rows * inputs), Random(rng, rows), Random(rng, hidden * inputs),
                Random(rng, hidden, 0.3f), Random(rng, hidden), Random(rng, 1),
                Random(rng, hidden * inputs), Random(rng, hidden), Random(rng, hidden), Random(rng, 1), Random(rng, rows * inputs, 9f));
        }

        /// <summary>The CPU reference: y, z, du and the accumulated gradients.</summary>
        public float[][] Reference()
        {
            float[] y = new float[Rows], z = new float[Rows * Hidden], du = (float[])Du0.Clone(), dz = new float[Rows * Hidden];
            float[] dw1 = (float[])Dw1.Clone(), db1 = (float[])Db1.Clone(), dw2 = (float[])Dw2.Clone(), db2 = (float[])Db2.Clone();
            Mlp.Forward<float>(y, z, U, W1, B1, W2, B2);
            Mlp.Backward<float>(du, dw1, db1, dw2, db2, dz, Dy, z, U, W1, W2);
            return [y, z, du, dw1, db1, dw2, db2];
        }
    }

    private static readonly string[] MlpOutputs = ["y", "z", "du", "dW1", "db1", "dW2", "db2"];

    private float[][] RunMlp(MlpCase c)
    {
        using var up = new Uploads(Acc);
        using var mlp = new GpuMlp(Kernels);
        var y = up.Put(new float[c.Rows]);
        var z = up.Put(new float[c.Rows * c.Hidden]);
        var dz = up.Put(Random(new Random(1), c.Rows * c.Hidden, 9f)); // scratch: its contents must not matter
        var du = up.Put(c.Du0);
        ArrayView<float> u = up.Put(c.U), w1 = up.Put(c.W1), w2 = up.Put(c.W2);
        ArrayView<float> dw1 = up.Put(c.Dw1), db1 = up.Put(c.Db1), dw2 = up.Put(c.Dw2), db2 = up.Put(c.Db2);
        mlp.Forward(y, z, u, c.Rows, c.Inputs, c.Hidden, w1, up.Put(c.B1), w2, up.Put(c.B2));
        mlp.Backward(du, dw1, db1, dw2, db2, dz, up.Put(c.Dy), z, u, c.Rows, c.Inputs, c.Hidden, w1, w2);
        return [Get(y), Get(z), Get(du), Get(dw1), Get(db1), Get(dw2), Get(db2)];
    }

    // (rows, inputs, hidden): odd sizes, a single row, rows over one 256-row column-sum chunk and a GEMM tile,
    // the paper's head width (I = H + D = 128, M = 67), no rows at all.
    [TestCase(7, 10, 5)]
    [TestCase(1, 3, 1)]
    [TestCase(37, 67, 33)]
    [TestCase(300, 9, 17)]
    [TestCase(45, 128, 67)]
    [TestCase(0, 6, 4)]
    public void MlpMatchesCpuReference(int rows, int inputs, int hidden)
    {
        var c = MlpCase.Make(rows, inputs, hidden, rows * 7 + hidden);
        float[][] expected = c.Reference(), actual = RunMlp(c);
        var (rtol, atol) = Tolerance;
        for (int i = 0; i < MlpOutputs.Length; i++) AssertClose(MlpOutputs[i], actual[i], expected[i], rtol, atol);
        if (rows > 0) Assert.That(expected[3], Is.Not.EqualTo(c.Dw1), "the reference moved dW1");
        // ReLU must have cut something and let something through, or the mask is untested (the 1×1 z can't do both).
        if (rows * hidden >= 10) Assert.That(expected[1], Has.Some.EqualTo(0f).And.Some.GreaterThan(0f));
    }

    [Test, Category("Slow")]
    public void MlpRunsAreBitIdentical()
    {
        var c = MlpCase.Make(300, 67, 33, 5);
        float[][] first = RunMlp(c), second = RunMlp(c);
        for (int i = 0; i < MlpOutputs.Length; i++) Assert.That(second[i], Is.EqualTo(first[i]).AsCollection, MlpOutputs[i]);
    }
}

[TestFixture, Category("Kernels")]
public class HeadKernelCpuTests : HeadKernelChecks
{
    protected override DeviceHandle Open() => AcceleratorFactory.CreateCpuForTests();
    protected override (double Rtol, double Atol) Tolerance => (1e-4, 1e-5);

    /// <summary>Every kernel method of the heads is in <see cref="KernelSet.All"/>, so the PTX compile test covers it.</summary>
    [Test]
    public void EveryHeadKernelIsRegistered()
    {
        var registered = KernelSet.All().Select(k => k.Method).ToHashSet();
        var kernels = new[] { typeof(AttentionKernels), typeof(MlpKernels) }
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
            .Where(m => m.ReturnType == typeof(void)).ToArray();
        Assert.That(kernels, Has.Length.EqualTo(4)); // the forward ReLU is in the GEMM's store (GemmDims.Relu)
        Assert.That(registered, Is.SupersetOf(kernels));
    }
}

[TestFixture, Category("Cuda")]
public class HeadKernelCudaTests : HeadKernelChecks
{
    protected override DeviceHandle Open() => CudaOrIgnore();
    // PTX's ex2.approx in the softmax and a different FMA contraction of the long sums.
    protected override (double Rtol, double Atol) Tolerance => (2e-3, 2e-4);
}
