namespace Alpine.Cpu;

/// <summary>
/// Grow-only activation buffers (STYLE.md: allocate once per shape, never per step). A buffer that must grow
/// gets a quarter of headroom: Window batches differ in size by a few percent each, and growing to the exact
/// size re-allocated (and zeroed) gigabytes on most of an epoch's first batches, with the garbage collector
/// reclaiming the old arrays in between (docs/BENCHMARKS.md, "Training throughput").
/// </summary>
internal static class Buffers
{
    /// <summary>Makes <paramref name="a"/> at least <paramref name="n"/> long (contents are zero after a re-allocation).</summary>
    public static void Grow<T>(ref T[] a, long n)
    {
        if (a.Length < n) a = new T[WithHeadroom(n, first: a.Length == 0)];
    }

    /// <summary>The length to allocate for a request of <paramref name="n"/>: exact the first time, a quarter more after.</summary>
    public static long WithHeadroom(long n, bool first) => first ? n : Math.Min(n + n / 4, Array.MaxLength);
}
