namespace Alpine.Cpu;

/// <summary>
/// Fixed partitioning for <c>Parallel.For</c> (SPEC D13): [0, n) is cut into at most <see cref="Threads"/>
/// contiguous ranges. Every layer writes each output element from exactly one range, in a fixed order
/// inside it, so results are bit-identical whatever the thread count or the schedule. How many ranges run at once
/// is bounded by the enclosing <see cref="ThreadLimit"/>, if any.
/// </summary>
public sealed class Workers
{
    /// <param name="threads">0 means <see cref="Environment.ProcessorCount"/>.</param>
    public Workers(int threads = 0)
    {
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
    }

    public int Threads { get; }

    /// <summary>Runs <paramref name="body"/>(lo, hi) over contiguous ranges covering [0, n).</summary>
    public void For(int n, Action<int, int> body)
    {
        int chunks = Math.Min(Threads, n);
        if (chunks <= 1) { if (n > 0) body(0, n); return; }
        Parallel.For(0, chunks, ThreadLimit.Options, k => body((int)((long)n * k / chunks), (int)((long)n * (k + 1) / chunks)));
    }
}
