using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Alpine.Cpu;

public static partial class Gemm
{
    /// <summary>
    /// Cache lines a caller will read after a product, loaded while the product runs: the micro-kernel issues one
    /// L2 prefetch of <c>*Next++</c> per k step until <see cref="Next"/> reaches <see cref="End"/>, so the loads
    /// spread over the FMAs instead of stalling a loop of prefetches (a core keeps only so many misses in flight).
    /// The product's result does not depend on it. A prefetch never faults, so a stale address costs nothing but
    /// the miss. Only the micro-kernel reads the stream (<see cref="StreamsPrefetches"/>); the column remainder of
    /// the unpacked kernel does not.
    /// </summary>
    internal unsafe struct PrefetchStream
    {
        public nint* Next;
        public nint* End;

        /// <summary>Issues what is left of the stream now.</summary>
        public void Drain()
        {
            if (Sse.IsSupported)
                for (; Next < End; Next++) Sse.Prefetch1((void*)*Next);
            Next = End;
        }
    }

    /// <summary>
    /// The product on the calling thread by the given kernel, its micro-kernel issuing <paramref name="prefetch"/>'s
    /// addresses (<see cref="PrefetchStream"/>); the same bits as without.
    /// </summary>
    internal static unsafe void Multiply<T>(
        Span<T> c, int ldc,
        ReadOnlySpan<T> a, int lda, bool transA,
        ReadOnlySpan<T> b, int ldb, bool transB,
        int m, int n, int k, bool accumulate, Kernel kernel, PrefetchStream* prefetch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Run(c, ldc, a, lda, transA, b, ldb, transB, m, n, k, accumulate, parallel: false, kernel, prefetch);

    /// <summary>Whether products read a <see cref="PrefetchStream"/>: x86 prefetch hints and the Vector512 micro-kernel.</summary>
    internal static bool StreamsPrefetches => Sse.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>Whether a micro-kernel instantiation reads a <see cref="PrefetchStream"/> (a type, so the other compiles without it).</summary>
    private interface IPrefetch { static abstract bool On { get; } }
    private struct NoPrefetch : IPrefetch { public static bool On => false; }
    private struct StreamPrefetch : IPrefetch { public static bool On => Sse.IsSupported; }
}
