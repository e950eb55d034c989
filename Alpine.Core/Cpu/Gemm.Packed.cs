using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Alpine.Cpu;

/// <summary>
/// The packed kernel of <see cref="Gemm"/> (BLIS's loop nest): a slab of B copied into contiguous panels of
/// <see cref="PNV"/> vectors' width, each panel reused from L1 by every 6-row tile of a block of A's rows, and a
/// 6 × 4-vector register tile (24 accumulators: per k four loads of B, six broadcasts of A, 24 FMAs, which keeps
/// both FMA pipes of a core busy through the FMA latency). A is read in place: for Aᵀ (the weight gradients) the six
/// rows of a tile are six neighbouring elements of one stored row, so a k step reads one cache line, and the panel
/// of B is contiguous, so the Aᵀ·B products do not read B with the stride of the activation buffers. A single
/// 64-column panel (dx, the 64-wide gradients) is already contiguous per row and is read in place. A partial tile
/// repeats a row of A for its missing rows and stores only its own; a partial panel's columns are zero in the
/// packed copy, computed into a scratch tile and its valid part added to C. A B that many products share (a weight
/// matrix, k ≤ 4·KC) can be packed once into the same panels (<see cref="PackPanels{T}"/>) and handed to
/// <see cref="MultiplyPanels{T}"/>, which then packs nothing.
/// <para>
/// Every element of C is summed exactly as by the unpacked kernel (SPEC D13): k blocks of <see cref="KC"/> in
/// ascending order, each an FMA chain from zero in ascending k, added to C. The two kernels and any thread
/// split therefore give the same bits; which one runs is a matter of speed only.
/// </para>
/// </summary>
public static partial class Gemm
{
    /// <summary>Rows of C per packed micro-tile.</summary>
    private const int PMR = 6;
    /// <summary>SIMD vectors of C per packed micro-tile row: 4·16 = 64 floats, 4·8 = 32 doubles.</summary>
    private const int PNV = 4;
    /// <summary>Rows of C per block: a block's rows of A (96 × KC floats, 48 KiB) stay in L2 across B's panels.</summary>
    private const int PMC = 96;
    /// <summary>Columns of C per slab of packed B: a slab of KC rows is at most 128 KiB of floats (L2).</summary>
    private const int PNC = 256;

    /// <summary>C[i0..i1, j0..j1] of the product by the packed kernel.</summary>
    private static unsafe void RunPacked<T, TPf>(in Job<T> job, int i0, int i1, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TPf : struct, IPrefetch
    {
        int nr = PNV * Vector512<T>.Count, k = job.K;
        // Short k: B's whole depth is packed once per column slab and every row block runs over it (the rows
        // of A and C stay in L2 while B, small, is reread). Long k: one KC block of B at a time, every row
        // block under it, so B is read once and C (small) stays in L2. Either way each element takes its k blocks
        // in ascending order.
        int slab = k <= 4 * KC ? k : KC;
        int maxCols = Math.Min(PNC, (j1 - j0 + nr - 1) / nr * nr);
        T* tile = PackScratch<T>.Tile(PMR * nr);
        T* bp = null;
        for (int jc = j0; jc < j1; jc += PNC)
        {
            int nc = Math.Min(PNC, j1 - jc), panels = (nc + nr - 1) / nr;
            // One whole panel (the 64-column weight gradients) is read in place: its rows are contiguous already.
            bool inPlace = nc == nr && !job.Panels;
            if (!inPlace && !job.Panels && bp == null) bp = PackScratch<T>.B(slab * maxCols);
            for (int s0 = 0; s0 < k; s0 += slab)
            {
                int sk = Math.Min(slab, k - s0);
                if (!inPlace && !job.Panels) PackB(bp, job.B + (long)s0 * job.Ldb + jc, job.Ldb, sk, nc, nr);
                for (int ib = i0; ib < i1; ib += PMC)
                {
                    int ie = Math.Min(i1, ib + PMC);
                    for (int p0 = s0; p0 < s0 + sk; p0 += KC)
                    {
                        int kc = Math.Min(KC, s0 + sk - p0);
                        bool add = job.Accumulate || p0 > 0;
                        T* ak = job.A + (long)p0 * job.Acs;
                        for (int jp = 0; jp < panels; jp++)
                        {
                            T* bpanel = job.Panels ? job.B + (long)(jc / nr + jp) * k * nr + (long)p0 * nr
                                : inPlace ? job.B + (long)p0 * job.Ldb + jc : bp + (long)jp * sk * nr + (long)(p0 - s0) * nr;
                            int ldp = inPlace ? job.Ldb : nr;
                            int j = jc + jp * nr, cols = Math.Min(nr, jc + nc - j);
                            T* c = job.C + j;
                            for (int i = ib; i < ie; i += PMR)
                            {
                                int rows = Math.Min(PMR, ie - i);
                                if (cols == nr)
                                    Tile<T, SixRows, TPf>(c + (long)i * job.Ldc, job.Ldc, ak + (long)i * job.Ars, job.Ars, job.Acs, bpanel, ldp, kc, rows, add, job.Prefetch);
                                else
                                {
                                    Tile<T, SixRows, TPf>(tile, nr, ak + (long)i * job.Ars, job.Ars, job.Acs, bpanel, ldp, kc, rows, false, job.Prefetch);
                                    Merge(c + (long)i * job.Ldc, job.Ldc, tile, nr, rows, cols, add);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Whether <see cref="MultiplyPanels{T}"/> runs here: the packed kernel's Vector512 tiles.</summary>
    internal static bool RunsPanels => Vector512.IsHardwareAccelerated;

    /// <summary>The length of <see cref="PackPanels{T}"/>'s output for a [k, n] B.</summary>
    internal static int PanelsLength<T>(int k, int n) => (n + PNV * Vector512<T>.Count - 1) / (PNV * Vector512<T>.Count) * PNV * Vector512<T>.Count * k;

    /// <summary>
    /// B [k, n] (row stride <paramref name="ldb"/>, k ≤ 4·KC) into the packed kernel's panels, all columns and the whole
    /// depth: panel q is columns [q·nr, (q + 1)·nr) as k rows of nr contiguous values, the last one's missing columns
    /// zero. For a B that many products share (a weight matrix), so that each skips packing it.
    /// </summary>
    internal static unsafe void PackPanels<T>(Span<T> panels, ReadOnlySpan<T> b, int ldb, int k, int n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (k > 4 * KC) throw new ArgumentException($"GEMM panels: depth {k} is more than {4 * KC}");
        CheckView(b.Length, k, n, ldb, "B");
        if (panels.Length < PanelsLength<T>(k, n)) throw new ArgumentException($"GEMM panels: {panels.Length} elements, {PanelsLength<T>(k, n)} needed");
        fixed (T* dst = panels)
        fixed (T* src = b)
            PackB(dst, src, ldb, k, n, PNV * Vector512<T>.Count);
    }

    /// <summary>
    /// C[m, n] = (accumulate ? C : 0) + A[m, k] · B, B given as <see cref="PackPanels{T}"/>'s panels; the same bits as
    /// <see cref="Multiply{T}(Span{T}, int, ReadOnlySpan{T}, int, bool, ReadOnlySpan{T}, int, bool, int, int, int, bool, bool)"/>
    /// of that B (SPEC D13). Only where <see cref="RunsPanels"/>.
    /// </summary>
    internal static unsafe void MultiplyPanels<T>(Span<T> c, int ldc, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> panels,
        int m, int n, int k, bool accumulate, bool parallel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!RunsPanels) throw new InvalidOperationException("GEMM panels need Vector512 hardware acceleration");
        if (m <= 0 || n <= 0 || k <= 0 || k > 4 * KC) throw new ArgumentException($"GEMM panels: m={m}, n={n}, k={k}");
        CheckView(c.Length, m, n, ldc, "C");
        CheckView(a.Length, m, k, lda, "A");
        if (panels.Length < PanelsLength<T>(k, n)) throw new ArgumentException($"GEMM panels: {panels.Length} elements, {PanelsLength<T>(k, n)} needed");
        fixed (T* pc = c)
        fixed (T* pa = a)
        fixed (T* pb = panels)
        {
            var job = new Job<T>(pc, ldc, pa, lda, 1, pb, PNV * Vector512<T>.Count, k, accumulate, packed: true, tiles: true, prefetch: null, panels: true);
            if (!parallel || Environment.ProcessorCount == 1 || (long)m * n * k < ParallelThreshold) job.Run(0, m, 0, n);
            else RunParallel(job, m, n, packed: true);
        }
    }

    /// <summary>
    /// B[0..kc, 0..nc] (row stride ldb) into panels of nr columns, each panel kc rows of nr contiguous elements,
    /// panel after panel; the last panel's columns past nc are zero.
    /// </summary>
    private static unsafe void PackB<T>(T* dst, T* b, int ldb, int kc, int nc, int nr)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        for (int j0 = 0; j0 < nc; j0 += nr)
        {
            int cols = Math.Min(nr, nc - j0);
            T* panel = dst + (long)j0 * kc;
            if (cols == nr)
                for (int p = 0; p < kc; p++)
                {
                    T* src = b + (long)p * ldb + j0, to = panel + (long)p * nr;
                    for (int v = 0; v < nr; v += w) Vector512.Load(src + v).Store(to + v);
                }
            else
                for (int p = 0; p < kc; p++)
                {
                    T* src = b + (long)p * ldb + j0, to = panel + (long)p * nr;
                    for (int j = 0; j < cols; j++) to[j] = src[j];
                    for (int j = cols; j < nr; j++) to[j] = T.Zero;
                }
        }
    }

    /// <summary>C[0..rows, 0..cols] = (add ? C : 0) + the scratch tile's part; scalar adds give the vector adds' bits.</summary>
    private static unsafe void Merge<T>(T* c, int ldc, T* tile, int ldt, int rows, int cols, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T* cr = c + (long)r * ldc, tr = tile + (long)r * ldt;
            for (int j = 0; j < cols; j++) cr[j] = add ? cr[j] + tr[j] : tr[j];
        }
    }

    /// <summary>Per-thread pinned scratch of the packed kernel, grown on demand and kept for the thread's life.</summary>
    private static class PackScratch<T> where T : unmanaged
    {
        [ThreadStatic] private static T[]? _b, _tile;

        public static unsafe T* B(int size) => Get(ref _b, size);
        public static unsafe T* Tile(int size) => Get(ref _tile, size);

        private static unsafe T* Get(ref T[]? buffer, int size)
        {
            if (buffer == null || buffer.Length < size) buffer = GC.AllocateUninitializedArray<T>(size, pinned: true);
            return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        }
    }
}
