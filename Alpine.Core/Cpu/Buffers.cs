namespace Alpine.Cpu;

/// <summary>
/// Grow-only activation buffers (STYLE.md: allocate once per shape, never per step). A buffer that must grow
/// gets a quarter of headroom: Window batches differ in size by a few percent each, and growing to the exact
/// size re-allocated (and zeroed) gigabytes on most of an epoch's first batches, with the garbage collector
/// reclaiming the old arrays in between (docs/BENCHMARKS.md, "Training throughput").
/// </summary>
internal static class Buffers
{
    /// <summary>Makes <paramref name="a"/> at least <paramref name="n"/> long; returns whether it was re-allocated
    /// (its contents are then zero).</summary>
    public static bool Grow<T>(ref T[] a, long n)
    {
        if (a.Length >= n) return false;
        long size = a.Length == 0 ? n : Math.Max(n, n + n / 4);
        a = new T[Math.Min(size, Array.MaxLength)];
        return true;
    }

    /// <summary>The length <see cref="Grow{T}"/> allocates for a request of <paramref name="n"/> when growing.</summary>
    public static long WithHeadroom(long n, bool first) => first ? n : Math.Min(n + n / 4, Array.MaxLength);
}
