using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class GemmTests
{
    /// <summary>Odd shapes hit the 4-row micro-tiles, the row remainder and the column remainder.</summary>
    [TestCase(1, 1, 1), TestCase(3, 5, 7), TestCase(9, 70, 33), TestCase(13, 130, 300), TestCase(64, 64, 129),
     TestCase(2, 64, 20), TestCase(6, 128, 150), TestCase(7, 130, 65)]
    public void EqualsTripleLoopForEveryTransposeAndBothModes(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (bool accumulate in new[] { false, true })
                {
                    // Leading dimensions wider than the views, so strides are really used.
                    int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
                    var a = Rand(rng, (transA ? k : m) * lda);
                    var b = Rand(rng, (transB ? n : k) * ldb);
                    var c = Rand(rng, m * ldc);
                    var expected = Reference(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate);
                    Gemm.Multiply<double>(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate);
                    Assert.That(c, Is.EqualTo(expected).Within(1e-10), $"transA={transA} transB={transB} accumulate={accumulate}");
                }
    }

    /// <summary>
    /// SPEC D13: the last 1–3 rows of a product (the recurrence's steps of a few sequences) run in tiles of that many
    /// rows; each row's bits equal the same row computed inside a whole 4-row tile.
    /// </summary>
    [TestCase(64, 40, false), TestCase(256, 64, false), TestCase(130, 300, true)]
    public void RemainderRowsEqualTheSameRowsInWholeTilesBitForBit(int n, int k, bool accumulate)
    {
        var rng = new Random(n + k);
        const int whole = 8;
        var a = Rand(rng, whole * k).Select(v => (float)v).ToArray();
        var b = Rand(rng, k * n).Select(v => (float)v).ToArray();
        var c0 = Rand(rng, whole * n).Select(v => (float)v).ToArray();
        var all = (float[])c0.Clone();
        Gemm.Multiply<float>(all, n, a, k, false, b, n, false, whole, n, k, accumulate);
        for (int m = 1; m < whole; m++)
        {
            // Rows [whole − m, whole): a product of m rows, whose last m % 4 rows are a remainder tile.
            int first = whole - m;
            var part = c0.AsSpan(first * n, m * n).ToArray();
            Gemm.Multiply<float>(part, n, a.AsSpan(first * k, m * k), k, false, b, n, false, m, n, k, accumulate);
            Assert.That(part, Is.EqualTo(all.AsSpan(first * n, m * n).ToArray()).AsCollection, $"{m} rows");
        }
    }

    /// <summary>SPEC D13: the thread split changes no bit of the float result.</summary>
    [TestCase(256, 64, 1000, false), TestCase(256, 64, 1000, true), TestCase(5, 700, 64, false), TestCase(301, 72, 40, true)]
    public void ParallelEqualsSerialBitForBit(int m, int n, int k, bool transA)
    {
        var rng = new Random(11);
        var a = Rand(rng, m * k).Select(v => (float)v).ToArray();
        var b = Rand(rng, k * n).Select(v => (float)v).ToArray();
        int lda = transA ? m : k;
        var serial = new float[m * n];
        var parallel = new float[m * n];
        Gemm.Multiply<float>(serial, n, a, lda, transA, b, n, false, m, n, k, accumulate: false, parallel: false);
        Gemm.Multiply<float>(parallel, n, a, lda, transA, b, n, false, m, n, k, accumulate: false, parallel: true);
        Assert.That(parallel, Is.EqualTo(serial).AsCollection);
    }

    /// <summary>
    /// The path that runs where Vector512 is not accelerated (<see cref="Gemm.Kernel.Portable"/>), reached here on any
    /// machine: the product in column chunks over the threads (few rows), every chunk starting past column 0, equals
    /// the float64 triple loop within float rounding and, bit for bit, the serial portable product and the micro-tile
    /// kernels (SPEC D13: one sum order whatever computes it).
    /// </summary>
    [TestCase(3, 300, 300), TestCase(5, 700, 64), TestCase(40, 130, 70)]
    public void PortablePathInColumnChunksEqualsTheTripleLoopAndTheTiledKernels(int m, int n, int k)
    {
        var rng = new Random(m + n);
        var a = Rand(rng, m * k);
        var b = Rand(rng, k * n);
        var expected = Reference(new double[m * n], n, a, k, false, b, n, false, m, n, k, accumulate: false);
        float[] af = ToFloat(a), bf = ToFloat(b);
        float[] Product(Gemm.Kernel kernel, bool parallel)
        {
            var c = new float[m * n];
            Gemm.Multiply<float>(c, n, af, k, false, bf, n, false, m, n, k, accumulate: false, parallel, kernel);
            return c;
        }
        var portable = Product(Gemm.Kernel.Portable, parallel: true);
        for (int e = 0; e < expected.Length; e++)
            Assert.That(portable[e], Is.EqualTo(expected[e]).Within(1e-4 * (1 + Math.Abs(expected[e]))), $"element {e}");
        Assert.That(portable, Is.EqualTo(Product(Gemm.Kernel.Portable, parallel: false)).AsCollection, "threads change no bit");
        Assert.That(portable, Is.EqualTo(Product(Gemm.Kernel.Unpacked, parallel: true)).AsCollection, "the micro-tiles' bits");
    }

    /// <summary>
    /// The packed kernel at the edges of each of its blocks: rows around its 6-row tile and 96-row block, columns
    /// around its 64-float panel and 256-column slab, k around its 128 block and the 512 short/long switch.
    /// Double against a float64 triple loop; float against the same reference within float rounding, and bit for
    /// bit against the unpacked kernel (both sum every element in one order, SPEC D13).
    /// </summary>
    [TestCase(1, 1, 1), TestCase(5, 17, 3), TestCase(6, 64, 128), TestCase(7, 65, 129), TestCase(13, 63, 127),
     TestCase(97, 31, 200), TestCase(101, 257, 40), TestCase(12, 130, 513), TestCase(64, 64, 1100)]
    public void PackedEqualsFloat64ReferenceAndUnpackedBits(int m, int n, int k)
    {
        var rng = new Random(m * 7919 + n * 31 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (bool accumulate in new[] { false, true })
                {
                    string what = $"transA={transA} transB={transB} accumulate={accumulate}";
                    int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
                    var a = Rand(rng, (transA ? k : m) * lda);
                    var b = Rand(rng, (transB ? n : k) * ldb);
                    var c = Rand(rng, m * ldc);
                    var expected = Reference(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate);

                    var cd = (double[])c.Clone();
                    Gemm.Multiply<double>(cd, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate, parallel: false, Gemm.Kernel.Packed);
                    Assert.That(cd, Is.EqualTo(expected).Within(1e-10), "double, " + what);

                    float[] af = ToFloat(a), bf = ToFloat(b), packed = ToFloat(c), unpacked = ToFloat(c);
                    Gemm.Multiply<float>(packed, ldc, af, lda, transA, bf, ldb, transB, m, n, k, accumulate, parallel: false, Gemm.Kernel.Packed);
                    Gemm.Multiply<float>(unpacked, ldc, af, lda, transA, bf, ldb, transB, m, n, k, accumulate, parallel: false, Gemm.Kernel.Unpacked);
                    Assert.That(packed, Is.EqualTo(unpacked).AsCollection, "float packed vs unpacked bits, " + what);
                    // |error| ≤ k·ε·Σ|a·b| at worst; the terms are in [−1, 1], so k·ε·(k + 1) with margin.
                    double tolerance = 4 * (k + 1) * k * 6e-8;
                    for (int e = 0; e < expected.Length; e++)
                        Assert.That(packed[e], Is.EqualTo(expected[e]).Within(tolerance), $"float element {e}, " + what);
                }
    }

    /// <summary>SPEC D13 for the packed kernel: one thread or two (any split of rows or columns), the same bits.</summary>
    [TestCase(256, 64, 1000, false), TestCase(64, 256, 5000, true), TestCase(64, 64, 700, true), TestCase(301, 200, 64, false),
     TestCase(7, 700, 64, false), TestCase(256, 128, 2000, true)]
    public void PackedOneThreadEqualsTwoBitForBit(int m, int n, int k, bool transA)
    {
        var rng = new Random(12);
        var a = ToFloat(Rand(rng, m * k));
        var b = ToFloat(Rand(rng, k * n));
        int lda = transA ? m : k;
        var one = new float[m * n];
        var two = new float[m * n];
        Gemm.Multiply<float>(one, n, a, lda, transA, b, n, false, m, n, k, accumulate: false, parallel: false, Gemm.Kernel.Packed);
        Gemm.Multiply<float>(two, n, a, lda, transA, b, n, false, m, n, k, accumulate: false, parallel: true, Gemm.Kernel.Packed);
        Assert.That(two, Is.EqualTo(one).AsCollection);
        Assert.That(one.Any(v => v != 0), Is.True);
    }

    /// <summary>
    /// B packed once into panels (<see cref="Gemm.PackPanels{T}"/>, a weight matrix many products share) gives the bits
    /// of the ordinary product (signed zeros included), in float and double, at shapes around the panel width and the
    /// 256-column slab, serial and split over the threads, assigning and accumulating; a depth past one slab, or
    /// panels too short, is refused.
    /// </summary>
    [TestCase(1, 1, 1), TestCase(7, 65, 3), TestCase(64, 512, 64), TestCase(97, 257, 130), TestCase(200, 300, 512), TestCase(33, 64, 64)]
    public void PrepackedPanelsGiveTheProductsBits(int m, int n, int k)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        int lda = k + 3, ldb = n + 5, ldc = n + 1;
        double[] a = Rand(rng, m * lda), b = Rand(rng, k * ldb);
        a[0] = -0.0;   // a row of signed zeros in C where B's first column is zero too
        for (int p = 0; p < k; p++) b[p * ldb] = p % 2 == 0 ? 0.0 : -0.0;
        Check(ToFloat(a), ToFloat(b), v => (float)v, BitConverter.SingleToInt32Bits);
        Check(a, b, v => v, BitConverter.DoubleToInt64Bits);

        void Check<T, TBits>(T[] a, T[] b, Func<double, T> from, Func<T, TBits> bits)
            where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
        {
            string type = typeof(T).Name;
            var panels = new T[Gemm.PanelsLength<T>(k, n)];
            Gemm.PackPanels<T>(panels, b, ldb, k, n);
            foreach (bool accumulate in new[] { false, true })
                foreach (bool parallel in new[] { false, true })
                {
                    var c0 = Rand(rng, m * ldc).Select(from).ToArray();
                    var plain = (T[])c0.Clone();
                    var fromPanels = (T[])c0.Clone();
                    Gemm.Multiply<T>(plain, ldc, a, lda, false, b, ldb, false, m, n, k, accumulate, parallel: false, Gemm.Kernel.Packed);
                    if (!Gemm.RunsPanels)
                    {
                        Assert.Throws<InvalidOperationException>(() => Gemm.MultiplyPanels<T>(fromPanels, ldc, a, lda, panels, m, n, k, accumulate, parallel));
                        continue;
                    }
                    Gemm.MultiplyPanels<T>(fromPanels, ldc, a, lda, panels, m, n, k, accumulate, parallel);
                    Assert.That(fromPanels.Select(bits), Is.EqualTo(plain.Select(bits)).AsCollection, $"{type} accumulate={accumulate} parallel={parallel}");
                }
            Assert.Throws<ArgumentException>(() => Gemm.PackPanels<T>(new T[Gemm.PanelsLength<T>(513, n)], new T[513 * n], n, 513, n), $"{type}: depth 513");
            Assert.Throws<ArgumentException>(() => Gemm.PackPanels<T>(new T[panels.Length - 1], b, ldb, k, n), $"{type}: short panels");
        }
    }

    /// <summary>
    /// A prefetch stream fed to the micro-kernel (serving's candidate blocks) leaves every bit of the product as it is,
    /// and each micro-tile issues one address a k step: k · the tiles (the unpacked kernel's whole 64-column tiles of
    /// 4 rows, the packed kernel's 6-row tiles of every panel), a shorter stream used up. Where the micro-kernel does
    /// not read streams (<see cref="Gemm.StreamsPrefetches"/>), nothing is read.
    /// </summary>
    [TestCase(30, 128, 64), TestCase(128, 128, 30), TestCase(3, 70, 9), TestCase(40, 100, 300)]
    public unsafe void APrefetchStreamLeavesTheProductsBitsAndIsReadOneAddressAKStep(int m, int n, int k)
    {
        var rng = new Random(m + n + k);
        var a = ToFloat(Rand(rng, m * k));
        var b = ToFloat(Rand(rng, k * n));
        var lines = new float[1 << 16];
        var addresses = new nint[100_000];
        foreach (var kernel in new[] { Gemm.Kernel.Unpacked, Gemm.Kernel.Packed })
        {
            long tiles = kernel == Gemm.Kernel.Unpacked ? (m + 3) / 4 * (n / 64) : (m + 5) / 6 * ((n + 63) / 64);
            foreach (int length in new[] { 5, addresses.Length })
            {
                var plain = new float[m * n];
                var streamed = new float[m * n];
                Gemm.Multiply<float>(plain, n, a, k, false, b, n, false, m, n, k, accumulate: false, parallel: false, kernel);
                fixed (float* target = lines)
                fixed (nint* list = addresses)
                {
                    for (int i = 0; i < addresses.Length; i++) list[i] = (nint)(target + (i * 16) % lines.Length);
                    var stream = new Gemm.PrefetchStream { Next = list, End = list + length };
                    Gemm.Multiply<float>(streamed, n, a, k, false, b, n, false, m, n, k, accumulate: false, kernel, &stream);
                    long used = stream.Next - list;
                    Assert.That(streamed, Is.EqualTo(plain).AsCollection, $"{kernel}: the same bits");
                    long expected = !Gemm.StreamsPrefetches ? 0 : Math.Min(length, tiles * k);
                    Assert.That(used, Is.EqualTo(expected), $"{kernel}, a stream of {length}: one address a k step of each of {tiles} tiles");
                    stream.Drain();
                    Assert.That(stream.Next == stream.End, Is.True, "Drain issues the rest");
                }
            }
        }
    }

    [Test]
    public void RejectsAViewLongerThanItsBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(new float[6], 3, new float[5], 3, false, new float[9], 3, false, 2, 3, 3, false));
        Assert.That(ex!.Message, Does.Contain("A"));
    }

    /// <summary>The product by the float64 triple loop.</summary>
    private static double[] Reference(double[] c, int ldc, double[] a, int lda, bool transA, double[] b, int ldb, bool transB,
        int m, int n, int k, bool accumulate)
    {
        var expected = (double[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? c[i * ldc + j] : 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                expected[i * ldc + j] = s;
            }
        return expected;
    }

    private static float[] ToFloat(double[] v) => v.Select(x => (float)x).ToArray();

    private static double[] Rand(Random rng, int count) => Enumerable.Range(0, count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
}
