namespace Alpine.Cpu;

/// <summary>
/// Bounds all the parallel work started inside <see cref="Run{T}"/> to a number of threads. The work runs as a
/// task on a scheduler of that concurrency, and every parallel loop of the CPU model (the GEMMs, the graph-LSTM's
/// chunks, <see cref="Workers"/>) passes <see cref="Options"/>, which inside <see cref="Run{T}"/> names that
/// scheduler (an <see cref="AsyncLocal{T}"/>, so nested loops on other threads see it too): all of them share the
/// same slots, the calling thread being one. (<c>Parallel.For</c> without options would use the default scheduler
/// whatever runs it.) The chunking stays what it is (results never depend on it, SPEC D13); only how many chunks
/// run at once changes. With no limit, or one of at least the core count, work runs directly on the caller's thread.
/// </summary>
internal sealed class ThreadLimit
{
    private static readonly ParallelOptions Unbounded = new();
    private static readonly AsyncLocal<ParallelOptions?> Ambient = new();
    private readonly ParallelOptions? _options;

    /// <param name="threads">The most threads at once; 0 means every core.</param>
    public ThreadLimit(int threads)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be 0 (every core) or positive");
        if (threads > 0 && threads < Environment.ProcessorCount)
            _options = new ParallelOptions
            {
                TaskScheduler = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, threads).ConcurrentScheduler,
                MaxDegreeOfParallelism = threads,
            };
    }

    /// <summary>Whether work is bounded (fewer threads than cores were asked for).</summary>
    public bool Limits => _options != null;

    /// <summary>The options every parallel loop of the CPU model passes: the enclosing limit's, else unbounded.</summary>
    public static ParallelOptions Options => Ambient.Value ?? Unbounded;

    /// <summary>Runs <paramref name="work"/> under the limit and returns its result (its exception, if it throws).</summary>
    public T Run<T>(Func<T> work)
    {
        if (_options == null) return work();
        var outer = Ambient.Value;
        Ambient.Value = _options;   // captured by the task's execution context, and by the loops' tasks from there
        try
        {
            return Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _options.TaskScheduler!).GetAwaiter().GetResult();
        }
        finally
        {
            Ambient.Value = outer;
        }
    }
}
