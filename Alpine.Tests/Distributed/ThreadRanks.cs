using Alpine.Distributed;

namespace Alpine.Tests.Distributed;

/// <summary>
/// An <see cref="IRankGroup"/> of threads in one process: each rank writes its part into a shared board and
/// waits at a barrier, then reads every part. It gathers what MPI's Allgather does, so the data-parallel code
/// runs in a test without mpirun.
/// </summary>
internal sealed class ThreadRanks : IRankGroup
{
    private readonly Board _board;

    private ThreadRanks(Board board, int rank) { _board = board; Rank = rank; }

    public int Rank { get; }
    public int Size => _board.Parts.Length;

    /// <summary>Runs <paramref name="work"/> on <paramref name="size"/> threads, one rank each; the results by rank.</summary>
    public static T[] Run<T>(int size, Func<IRankGroup, T> work)
    {
        var board = new Board(size);
        var results = new T[size];
        var errors = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try { results[r] = work(new ThreadRanks(board, r)); }
            catch (Exception e) { errors[r] = e; board.Barrier.RemoveParticipant(); }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromMinutes(2)), "a rank hung");
        foreach (var e in errors) if (e is not null) throw e;
        return results;
    }

    public void AllGather(ReadOnlySpan<float> local, Span<float> all) => Gather(local, all);
    public void AllGather(ReadOnlySpan<double> local, Span<double> all) => Gather(local, all);
    public void AllGatherVariable(ReadOnlySpan<float> local, Span<float> all, int[] counts) => Gather(local, all);

    private void Gather<T>(ReadOnlySpan<T> local, Span<T> all)
    {
        _board.Parts[Rank] = local.ToArray();
        _board.Barrier.SignalAndWait();
        int at = 0;
        foreach (object part in _board.Parts) { var p = (T[])part; p.CopyTo(all[at..]); at += p.Length; }
        _board.Barrier.SignalAndWait(); // nobody overwrites a part before every rank has read it
    }

    public void Abort(int code) => throw new InvalidOperationException($"rank {Rank} aborted with {code}");
    public void Dispose() { }

    private sealed class Board(int size)
    {
        public readonly object[] Parts = new object[size];
        public readonly Barrier Barrier = new(size);
    }
}
