using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Device;

/// <summary>
/// What a train step costs the device beyond its arithmetic: kernel launches and host↔device copies, counted as
/// they are issued (every kernel of the set is wrapped once at load; every per-batch copy goes through
/// <see cref="Upload{T}"/> / <see cref="Download{T}"/>). A copy down waits for the stream, so the step's
/// downloads are its syncs; tests pin both numbers (docs/ARCHITECTURE.md "GPU backend").
/// </summary>
public sealed partial class KernelSet
{
    /// <summary>Kernel launches issued through this set.</summary>
    public long Launches { get; private set; }
    /// <summary>Host → device copies issued through <see cref="Upload{T}"/>.</summary>
    public long Uploads { get; private set; }
    /// <summary>Device → host copies (each one waits for the stream) issued through <see cref="Download{T}"/>.</summary>
    public long Downloads { get; private set; }

    /// <summary>The three counters, for a test or a report to take differences of.</summary>
    public KernelCounts Counts => new(Launches, Uploads, Downloads);

    /// <summary>source → target on the device (counted).</summary>
    public void Upload<T>(ReadOnlySpan<T> source, ArrayView<T> target) where T : unmanaged
    {
        if (source.Length == 0) return;
        Uploads++;
        target.SubView(0, source.Length).CopyFromCPU(source);
    }

    /// <summary>source → target on the host (counted); waits for every launch before it on the stream.</summary>
    public void Download<T>(ArrayView<T> source, Span<T> target) where T : unmanaged
    {
        if (target.Length == 0) return;
        Downloads++;
        source.SubView(0, target.Length).CopyToCPU(target);
    }

    // One wrapper per kernel arity: the closure is made once at load, so a launch allocates nothing more.
    private Action<T1, T2> Counted<T1, T2>(Action<T1, T2> k) => (a, b) => { Launches++; k(a, b); };
    private Action<T1, T2, T3> Counted<T1, T2, T3>(Action<T1, T2, T3> k) => (a, b, c) => { Launches++; k(a, b, c); };
    private Action<T1, T2, T3, T4> Counted<T1, T2, T3, T4>(Action<T1, T2, T3, T4> k) => (a, b, c, d) => { Launches++; k(a, b, c, d); };
    private Action<T1, T2, T3, T4, T5> Counted<T1, T2, T3, T4, T5>(Action<T1, T2, T3, T4, T5> k) =>
        (a, b, c, d, e) => { Launches++; k(a, b, c, d, e); };
    private Action<T1, T2, T3, T4, T5, T6> Counted<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> k) =>
        (a, b, c, d, e, f) => { Launches++; k(a, b, c, d, e, f); };
    private Action<T1, T2, T3, T4, T5, T6, T7> Counted<T1, T2, T3, T4, T5, T6, T7>(Action<T1, T2, T3, T4, T5, T6, T7> k) =>
        (a, b, c, d, e, f, g) => { Launches++; k(a, b, c, d, e, f, g); };
}

/// <summary>Kernel launches and host↔device copies (<see cref="KernelSet.Counts"/>).</summary>
public readonly record struct KernelCounts(long Launches, long Uploads, long Downloads)
{
    public static KernelCounts operator -(KernelCounts a, KernelCounts b) =>
        new(a.Launches - b.Launches, a.Uploads - b.Uploads, a.Downloads - b.Downloads);
}
