namespace Alpine.Distributed;

/// <summary>
/// The processes that train one model together (data parallelism): each knows its rank and the group's size, and
/// they exchange data only by gathering, so every rank ends up with every rank's part, in rank order, and can sum
/// them in that order: the same bits on every rank and on every rerun with the same size.
/// </summary>
public interface IRankGroup : IDisposable
{
    /// <summary>This process's rank, 0 to <see cref="Size"/> − 1; rank 0 writes the run's files.</summary>
    int Rank { get; }
    int Size { get; }

    /// <summary>Every rank's <paramref name="local"/> (one length on all ranks), rank after rank, into <paramref name="all"/> on every rank.</summary>
    void AllGather(ReadOnlySpan<float> local, Span<float> all);

    /// <summary>The double-precision form of <see cref="AllGather(ReadOnlySpan{float}, Span{float})"/>.</summary>
    void AllGather(ReadOnlySpan<double> local, Span<double> all);

    /// <summary>Rank r's <c>counts[r]</c> floats, rank after rank, into <paramref name="all"/> on every rank.</summary>
    void AllGatherVariable(ReadOnlySpan<float> local, Span<float> all, int[] counts);

    /// <summary>Ends every rank of the group at once with exit code <paramref name="code"/> (a rank that cannot go on).</summary>
    void Abort(int code);
}

/// <summary>A group of one: this process alone (gathering copies).</summary>
public sealed class OneProcess : IRankGroup
{
    public int Rank => 0;
    public int Size => 1;
    public void AllGather(ReadOnlySpan<float> local, Span<float> all) => local.CopyTo(all);
    public void AllGather(ReadOnlySpan<double> local, Span<double> all) => local.CopyTo(all);
    public void AllGatherVariable(ReadOnlySpan<float> local, Span<float> all, int[] counts) => local.CopyTo(all);
    public void Abort(int code) => Environment.Exit(code);
    public void Dispose() { }
}
