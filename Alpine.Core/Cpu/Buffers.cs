using System.Runtime.InteropServices;

namespace Alpine.Cpu;

/// <summary>
/// Grow-only activation buffers (STYLE.md: allocate once per shape, never per step). A buffer that must grow
/// gets a quarter of headroom: Window batches differ in size by a few percent each, and growing to the exact
/// size would re-allocate (and zero) gigabytes on most of an epoch's first batches, with the garbage collector
/// reclaiming the old arrays in between.
/// <para>
/// Large buffers are asked for transparent huge pages on Linux (<see cref="Allocate{T}"/>): on a VM the first
/// touch of a fresh 4 KiB page can cost tens of microseconds (seconds per GiB, far more than a second pass over
/// the same memory), and 2 MiB pages cut that by an order of magnitude.
/// </para>
/// </summary>
internal static partial class Buffers
{
    /// <summary>Makes <paramref name="a"/> at least <paramref name="n"/> long (contents are zero after a re-allocation).</summary>
    public static void Grow<T>(ref T[] a, long n) where T : unmanaged
    {
        if (a.Length < n) a = Allocate<T>(WithHeadroom(n, first: a.Length == 0));
    }

    /// <summary>
    /// The length to allocate for a request of <paramref name="n"/>: exact the first time, a quarter more after
    /// (never less than asked; a request beyond <see cref="Array.MaxLength"/> fails in the allocation).
    /// </summary>
    public static long WithHeadroom(long n, bool first) => first ? n : Math.Max(n, Math.Min(n + n / 4, Array.MaxLength));

    /// <summary>Arrays of at least this many bytes are allocated pinned and advised for huge pages.</summary>
    internal const long HugeFrom = 8L << 20;

    private const int HugePage = 2 << 20, MadvHugepage = 14;
    private static bool _noMadvise;

    /// <summary>
    /// A zeroed array of <paramref name="n"/> elements. From <see cref="HugeFrom"/> bytes on Linux it lives on the
    /// pinned heap (it never moves) and its whole 2 MiB pages are advised MADV_HUGEPAGE before anything touches
    /// them; the advice changes no value, and where it is refused the array is an ordinary one.
    /// </summary>
    public static unsafe T[] Allocate<T>(long n) where T : unmanaged
    {
        if (n * sizeof(T) < HugeFrom || !OperatingSystem.IsLinux() || _noMadvise) return new T[n];
        var a = GC.AllocateArray<T>(checked((int)n), pinned: true);
        fixed (T* p = a)
        {
            nint start = ((nint)p + HugePage - 1) & ~(nint)(HugePage - 1);
            nint end = (nint)(p + n) & ~(nint)(HugePage - 1);
            if (end > start)
            {
                try { _ = Madvise(start, (nuint)(end - start), MadvHugepage); }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _noMadvise = true; }
            }
        }
        return a;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
