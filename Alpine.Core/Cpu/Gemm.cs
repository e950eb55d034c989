using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Alpine.Cpu;

/// <summary>
/// Dense row-major matrix product for float and double: a cache-blocked, register-blocked SIMD GEMM, by one
/// of two loop nests (<see cref="Kernel"/>): from 32 rows of C on, the packed kernel of Gemm.Packed.cs (B copied
/// into contiguous panels, a 6 × 4-vector tile, or a B packed once for many products: <see cref="MultiplyPanels{T}"/>);
/// below, this file's unpacked one (B read in place, a 4 × 4-vector tile), which is the faster for the recurrence's
/// few-row products.
/// <para>
/// Determinism (SPEC D13): every element of C is Σ_k taken in ascending k, in fixed blocks of
/// <see cref="KC"/>, each block summed into a zeroed accumulator with fused multiply-adds and then added
/// to C. The micro-tile, the row remainder and the column remainder all follow that one order, so an
/// element's bits depend neither on where the M/N tiling or the thread partition cut the matrix, nor on
/// the number of threads, nor on which of the two kernels ran.
/// </para>
/// </summary>
public static partial class Gemm
{
    /// <summary>Rows of C per micro-tile.</summary>
    private const int MR = 4;
    /// <summary>SIMD vectors of C per micro-tile row: 4·16 = 64 floats, 4·8 = 32 doubles.</summary>
    private const int NV = 4;
    /// <summary>Depth of one k block: the B micro-panel (KC × 64 floats, 32 KiB) stays in L1.</summary>
    internal const int KC = 128;
    /// <summary>Rows of C per block when k is short: 64 rows of A and C stay in L2.</summary>
    private const int MC = 64;
    /// <summary>Below this many multiply-adds a product is not worth handing to other threads.</summary>
    private const long ParallelThreshold = 1 << 18;

    /// <summary>
    /// Effectively computes <c>C[m,n] = (accumulate ? C : 0) + op(A)[m,k] · op(B)[k,n]</c>, where
    /// op(A) = A (<c>A[i*lda + p]</c>) or Aᵀ (<c>A[p*lda + i]</c>) and likewise for B; C is <c>C[i*ldc + j]</c>.
    /// With <paramref name="parallel"/> the rows (or, for short C, the columns) of C are split in fixed
    /// chunks over <see cref="Parallel.For(int, int, Action{int})"/>; the result is bit-identical either way.
    /// </summary>
    public static void Multiply<T>(
        Span<T> c, int ldc,
        ReadOnlySpan<T> a, int lda, bool transA,
        ReadOnlySpan<T> b, int ldb, bool transB,
        int m, int n, int k, bool accumulate, bool parallel = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Multiply(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate, parallel, Kernel.Auto);

    /// <summary>Which loop nest computes a product; both give the same bits (see the class notes).</summary>
    internal enum Kernel
    {
        /// <summary>The packed kernel where it is the faster (<see cref="PackedPays"/>), else the unpacked one.</summary>
        Auto,
        Unpacked,
        /// <summary>The packed kernel (Gemm.Packed.cs); the unpacked one where Vector512 is not accelerated.</summary>
        Packed,
        /// <summary>
        /// No Vector512 micro-tiles: every row through <see cref="Row{T}"/>, what runs where Vector512 is not
        /// accelerated, so tests reach that path on any machine.
        /// </summary>
        Portable,
    }

    /// <summary><see cref="Multiply{T}(Span{T}, int, ReadOnlySpan{T}, int, bool, ReadOnlySpan{T}, int, bool, int, int, int, bool, bool)"/> by the given kernel.</summary>
    internal static unsafe void Multiply<T>(
        Span<T> c, int ldc,
        ReadOnlySpan<T> a, int lda, bool transA,
        ReadOnlySpan<T> b, int ldb, bool transB,
        int m, int n, int k, bool accumulate, bool parallel, Kernel kernel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Run(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate, parallel, kernel, null);

    /// <summary>The product, checked, by the given kernel, with or without a prefetch stream.</summary>
    private static unsafe void Run<T>(
        Span<T> c, int ldc,
        ReadOnlySpan<T> a, int lda, bool transA,
        ReadOnlySpan<T> b, int ldb, bool transB,
        int m, int n, int k, bool accumulate, bool parallel, Kernel kernel, PrefetchStream* prefetch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"GEMM dims must be non-negative, got m={m}, n={n}, k={k}");
        if (m == 0 || n == 0) return;
        CheckView(c.Length, m, n, ldc, "C");
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        if (transA) CheckView(a.Length, k, m, lda, "A"); else CheckView(a.Length, m, k, lda, "A");
        if (transB) CheckView(b.Length, n, k, ldb, "B"); else CheckView(b.Length, k, n, ldb, "B");

        // The micro-kernel streams rows of B, so a transposed B is first copied to row-major [k, n].
        T[]? packed = null;
        if (transB)
        {
            packed = ArrayPool<T>.Shared.Rent(k * n);
            Transpose(packed, b, n, k, ldb);
            b = packed;
            ldb = n;
        }
        try
        {
            fixed (T* pc = c)
            fixed (T* pa = a)
            fixed (T* pb = b)
            {
                bool tiles = Vector512.IsHardwareAccelerated && kernel != Kernel.Portable;
                bool usePacked = tiles && (kernel == Kernel.Packed || (kernel == Kernel.Auto && PackedPays(m, n, k)));
                var job = new Job<T>(pc, ldc, pa, transA ? 1 : lda, transA ? lda : 1, pb, ldb, k, accumulate, usePacked, tiles, prefetch, panels: false);
                if (!parallel || Environment.ProcessorCount == 1 || (long)m * n * k < ParallelThreshold) job.Run(0, m, 0, n);
                else RunParallel(job, m, n, usePacked);
            }
        }
        finally
        {
            if (packed != null) ArrayPool<T>.Shared.Return(packed);
        }
    }

    /// <summary>
    /// The product in fixed chunks over the threads. A method of its own so that the closure is allocated
    /// only here, not by every small serial product (the recurrence makes thousands per batch).
    /// </summary>
    private static void RunParallel<T>(Job<T> job, int m, int n, bool packed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int threads = Environment.ProcessorCount;
        int mr = packed ? PMR : MR, nr = (packed ? PNV : NV) * Vector512<T>.Count;
        // Rows unless that leaves a thread idle or, for the packed kernel, is the worse split. Long k (the weight
        // gradients over all rows) streams A and B from memory: each thread reads all of the operand the split
        // does not cut, so rows when A is the larger (m ≥ n). Short k: the fewer tiles on the busiest thread.
        // Depends on the shape only.
        int rowTiles = (m + mr - 1) / mr, colTiles = (n + nr - 1) / nr;
        bool byRows = m >= threads * mr
            && (!packed || colTiles < threads
                || (job.K > 4 * KC ? m >= n : (rowTiles + threads - 1) / threads * colTiles <= rowTiles * ((colTiles + threads - 1) / threads)));
        if (byRows)
        {
            // Fixed row chunks, whole micro-tiles but the last.
            int chunk = (rowTiles + threads - 1) / threads * mr;
            int chunks = (m + chunk - 1) / chunk;
            Parallel.For(0, chunks, ThreadLimit.Options, s => job.Run(s * chunk, Math.Min(m, (s + 1) * chunk), 0, n));
        }
        else
        {
            int chunk = Math.Max(1, (colTiles + threads - 1) / threads) * nr;
            int chunks = (n + chunk - 1) / chunk;
            Parallel.For(0, chunks, ThreadLimit.Options, s => job.Run(0, m, s * chunk, Math.Min(n, (s + 1) * chunk)));
        }
    }

    /// <summary>
    /// Where the packed kernel is the faster (docs/BENCHMARKS.md, "GEMM"): from 32 rows of C on, where packing B is
    /// spread over enough tiles (below, the recurrence's per-step products of 8 sequences lose more to the copy and
    /// to the 6-row tile's unused rows than the packed panel gains); and, for long k (a weight gradient over all
    /// rows, B streamed from memory once), only where C is at least as tall as wide: a wide C packs a wide B slab
    /// from memory per k block, a copy that does not overlap the FMAs as the unpacked kernel's in-place reads do.
    /// </summary>
    internal static bool PackedPays(int m, int n, int k) => m >= 32 && (k <= 4 * KC || m >= n);

    /// <summary>
    /// Effectively computes <c>dst[j*ldd + i] = src[i*lds + j]</c>: src is a [rows, cols] view with row
    /// stride <paramref name="lds"/>, dst its [cols, rows] transpose with row stride <paramref name="ldd"/>
    /// (0: rows, packed).
    /// </summary>
    public static void Transpose<T>(Span<T> dst, ReadOnlySpan<T> src, int rows, int cols, int lds, int ldd = 0)
        where T : unmanaged
    {
        if (ldd == 0) ldd = rows;
        CheckView(src.Length, rows, cols, lds, "source");
        CheckView(dst.Length, cols, rows, ldd, "destination");
        // 16×16 blocks keep both the reads and the writes within a few cache lines.
        const int Blk = 16;
        for (int i0 = 0; i0 < rows; i0 += Blk)
            for (int j0 = 0; j0 < cols; j0 += Blk)
                for (int i = i0; i < Math.Min(rows, i0 + Blk); i++)
                    for (int j = j0; j < Math.Min(cols, j0 + Blk); j++)
                        dst[j * ldd + i] = src[i * lds + j];
    }

    private static void CheckView(int length, int rows, int cols, int ld, string name)
    {
        if (ld < cols) throw new ArgumentException($"GEMM {name}: leading dimension {ld} is less than its {cols} columns");
        if (rows > 0 && cols > 0 && length < (long)(rows - 1) * ld + cols)
            throw new ArgumentException($"GEMM {name}: a [{rows}, {cols}] view with stride {ld} needs {(long)(rows - 1) * ld + cols} elements, got {length}");
    }

    /// <summary>One product's operands as raw pointers, so fixed chunks of it can run on other threads.</summary>
    private readonly unsafe struct Job<T>(T* c, int ldc, T* a, int ars, int acs, T* b, int ldb, int k, bool accumulate, bool packed, bool tiles,
        PrefetchStream* prefetch, bool panels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* C => c;
        public int Ldc => ldc;
        /// <summary>A's element (i, p) is at <c>A[i*Ars + p*Acs]</c>.</summary>
        public T* A => a;
        public int Ars => ars;
        public int Acs => acs;
        public T* B => b;
        public int Ldb => ldb;
        public int K => k;
        public bool Accumulate => accumulate;
        public PrefetchStream* Prefetch => prefetch;
        /// <summary>B is already in the packed kernel's panels (<see cref="PackPanels{T}"/>), whole depth.</summary>
        public bool Panels => panels;

        /// <summary>C[i0..i1, j0..j1] of the product.</summary>
        public void Run(int i0, int i1, int j0, int j1)
        {
            if (packed)
            {
                if (prefetch == null) RunPacked<T, NoPrefetch>(this, i0, i1, j0, j1);
                else RunPacked<T, StreamPrefetch>(this, i0, i1, j0, j1);
                return;
            }
            // Short k (the input projection, dx, the per-step products): blocks of MC rows outermost, so a
            // block's rows of A and C stay in L2 while all of B streams past. Long k (the weight gradients,
            // k = all steps): k blocks outermost, so each B block is read once and the small C stays in L2.
            // Either way each element sums its k blocks in ascending order: the same bits.
            if (prefetch != null) RunRows<StreamPrefetch>(i0, i1, j0, j1);
            else RunRows<NoPrefetch>(i0, i1, j0, j1);
        }

        private void RunRows<TPf>(int i0, int i1, int j0, int j1) where TPf : struct, IPrefetch
        {
            if (k <= 4 * KC)
                for (int ib = i0; ib < i1; ib += MC) RunBlock<TPf>(ib, Math.Min(i1, ib + MC), j0, j1);
            else
                RunBlock<TPf>(i0, i1, j0, j1);
        }

        /// <summary>C[i0..i1, j0..j1], k blocks outermost.</summary>
        private void RunBlock<TPf>(int i0, int i1, int j0, int j1) where TPf : struct, IPrefetch
        {
            int w = Vector512<T>.Count;
            int tileCols = tiles ? NV * w : int.MaxValue;
            for (int p0 = 0; p0 < k; p0 += KC)
            {
                int kc = Math.Min(KC, k - p0);
                bool add = accumulate || p0 > 0;
                T* ak = a + (long)p0 * acs;
                T* bk = b + (long)p0 * ldb;
                int j = j0;
                // Whole micro-tiles: B's KC × 64 micro-panel is reused by every row tile (from L1).
                for (; j1 - j >= tileCols; j += tileCols)
                {
                    int i = i0;
                    for (; i + MR <= i1; i += MR)
                        Tile<T, FourRows, TPf>(c + (long)i * ldc + j, ldc, ak + (long)i * ars, ars, acs, bk + j, ldb, kc, MR, add, prefetch);
                    // The last 1–3 rows: a tile of that many rows (the same order per element as a whole tile).
                    int rest = i1 - i;
                    T* ci = c + (long)i * ldc + j, ai = ak + (long)i * ars;
                    if (rest == 3) Tile<T, FourRows, TPf>(ci, ldc, ai, ars, acs, bk + j, ldb, kc, 3, add, prefetch);
                    else if (rest == 2) Tile<T, TwoRows, TPf>(ci, ldc, ai, ars, acs, bk + j, ldb, kc, 2, add, prefetch);
                    else if (rest == 1) Tile<T, OneRow, TPf>(ci, ldc, ai, ars, acs, bk + j, ldb, kc, 1, add, prefetch);
                }
                if (j < j1)
                    for (int i = i0; i < i1; i++)
                        Row(c + (long)i * ldc + j, ak + (long)i * ars, acs, bk + j, ldb, kc, j1 - j, add);
            }
        }
    }

    /// <summary>The rows of a micro-tile, a type so that each kernel instantiation is compiled for its count.</summary>
    private interface ITileRows { static abstract int Count { get; } }
    /// <summary>The unpacked kernel's 4 × 4-vector tile: 16 accumulators, per k four loads of B and four broadcasts of A.</summary>
    private struct FourRows : ITileRows { public static int Count => MR; }
    /// <summary>The unpacked kernel's last two rows (the recurrence's steps of a few sequences end in them).</summary>
    private struct TwoRows : ITileRows { public static int Count => 2; }
    /// <summary>The unpacked kernel's last row.</summary>
    private struct OneRow : ITileRows { public static int Count => 1; }
    /// <summary>The packed kernel's 6 × 4-vector tile: 24 accumulators, per k four loads of B and six broadcasts of A.</summary>
    private struct SixRows : ITileRows { public static int Count => PMR; }

    /// <summary>
    /// The register-blocked micro-kernel: C[rows, 4 vectors] (+)= A[rows, kc] · B[kc, 4 vectors], A element (i, p)
    /// at <c>a[i*ars + p*acs]</c>, B row p at <c>b + p*ldb</c>, rows ≤ TRows.Count accumulators' rows (the
    /// branches on TRows.Count fold away per instantiation). Missing rows repeat row 0 (no read past A) and are not
    /// stored. Each element: a zeroed accumulator, one FMA per k in ascending order, then added to C (SPEC D13).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile<T, TRows, TPf>(T* c, int ldc, T* a, int ars, int acs, T* b, int ldb, int kc, int rows, bool add, PrefetchStream* prefetch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TRows : struct, ITileRows
        where TPf : struct, IPrefetch
    {
        int w = Vector512<T>.Count;
        bool two = TRows.Count > 1, four = TRows.Count > 2, six = TRows.Count > 4;
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<T> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<T> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<T> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<T> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<T> c50 = default, c51 = default, c52 = default, c53 = default;
        T* a0 = a, a1 = rows > 1 ? a + ars : a, a2 = rows > 2 ? a + 2 * ars : a;
        T* a3 = rows > 3 ? a + 3 * ars : a, a4 = rows > 4 ? a + 4 * ars : a, a5 = rows > 5 ? a + 5 * ars : a;
        T* bp = b;
        nint* next = TPf.On ? prefetch->Next : null, end = TPf.On ? prefetch->End : null;
        for (int p = 0; p < kc; p++, bp += ldb)
        {
            if (TPf.On && next < end) Sse.Prefetch1((void*)*next++);
            Vector512<T> b0 = Vector512.Load(bp), b1 = Vector512.Load(bp + w);
            Vector512<T> b2 = Vector512.Load(bp + 2 * w), b3 = Vector512.Load(bp + 3 * w);
            long q = (long)p * acs;
            Vector512<T> x = Vector512.Create(a0[q]);
            c00 = Simd<T>.Fma(x, b0, c00); c01 = Simd<T>.Fma(x, b1, c01); c02 = Simd<T>.Fma(x, b2, c02); c03 = Simd<T>.Fma(x, b3, c03);
            if (two)
            {
                x = Vector512.Create(a1[q]);
                c10 = Simd<T>.Fma(x, b0, c10); c11 = Simd<T>.Fma(x, b1, c11); c12 = Simd<T>.Fma(x, b2, c12); c13 = Simd<T>.Fma(x, b3, c13);
            }
            if (four)
            {
                x = Vector512.Create(a2[q]);
                c20 = Simd<T>.Fma(x, b0, c20); c21 = Simd<T>.Fma(x, b1, c21); c22 = Simd<T>.Fma(x, b2, c22); c23 = Simd<T>.Fma(x, b3, c23);
                x = Vector512.Create(a3[q]);
                c30 = Simd<T>.Fma(x, b0, c30); c31 = Simd<T>.Fma(x, b1, c31); c32 = Simd<T>.Fma(x, b2, c32); c33 = Simd<T>.Fma(x, b3, c33);
            }
            if (six)
            {
                x = Vector512.Create(a4[q]);
                c40 = Simd<T>.Fma(x, b0, c40); c41 = Simd<T>.Fma(x, b1, c41); c42 = Simd<T>.Fma(x, b2, c42); c43 = Simd<T>.Fma(x, b3, c43);
                x = Vector512.Create(a5[q]);
                c50 = Simd<T>.Fma(x, b0, c50); c51 = Simd<T>.Fma(x, b1, c51); c52 = Simd<T>.Fma(x, b2, c52); c53 = Simd<T>.Fma(x, b3, c53);
            }
        }
        if (TPf.On) prefetch->Next = next;
        Store(c, w, add, c00, c01, c02, c03);
        if (two && rows > 1) Store(c + ldc, w, add, c10, c11, c12, c13);
        if (four && rows > 2) Store(c + 2 * ldc, w, add, c20, c21, c22, c23);
        if (four && rows > 3) Store(c + 3 * ldc, w, add, c30, c31, c32, c33);
        if (six && rows > 4) Store(c + 4 * ldc, w, add, c40, c41, c42, c43);
        if (six && rows > 5) Store(c + 5 * ldc, w, add, c50, c51, c52, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store<T>(T* c, int w, bool add, Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, Vector512<T> v3)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (add)
        {
            v0 += Vector512.Load(c); v1 += Vector512.Load(c + w);
            v2 += Vector512.Load(c + 2 * w); v3 += Vector512.Load(c + 3 * w);
        }
        v0.Store(c); v1.Store(c + w); v2.Store(c + 2 * w); v3.Store(c + 3 * w);
    }

    /// <summary>
    /// One row of C over <paramref name="cols"/> columns, in the micro-kernel's order (zeroed accumulator,
    /// FMA per k, then added to C): the remainder of columns, and the whole product where
    /// Vector512 is not accelerated (TensorPrimitives then picks the widest vectors there are).
    /// </summary>
    private static unsafe void Row<T>(T* c, T* a, int acs, T* b, int ldb, int kc, int cols, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (cols < 16)
        {
            // A few columns (e.g. the bias column of [dWx, db]): one scalar FMA chain each, same order.
            for (int j = 0; j < cols; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < kc; p++) sum = T.FusedMultiplyAdd(a[(long)p * acs], b[(long)p * ldb + j], sum);
                c[j] = add ? c[j] + sum : sum;
            }
            return;
        }
        const int Chunk = 256;
        Span<T> acc = stackalloc T[Math.Min(cols, Chunk)];
        for (int j0 = 0; j0 < cols; j0 += Chunk)
        {
            int nc = Math.Min(Chunk, cols - j0);
            Span<T> s = acc[..nc];
            s.Clear();
            for (int p = 0; p < kc; p++)
                TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<T>(b + (long)p * ldb + j0, nc), a[(long)p * acs], s, s);
            var dst = new Span<T>(c + j0, nc);
            if (add) TensorPrimitives.Add(dst, s, dst); else s.CopyTo(dst);
        }
    }
}
