using Alpine.Cpu;
using Alpine.Data;
using Alpine.Inference;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Serving;
using Alpine.Train;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// Serving with cached user states (<see cref="AlpineModel"/>) beside the uncached path, <see cref="Recommender"/>,
/// which re-encodes the user's whole history per request, in one run: routing one item to the top 100 of 10,000
/// users, recommending the top 100 of 100,000 candidates for one user, and one observe (in memory, and journaled
/// with its fsync). The data: 10,000 users with 40–80 impressions each over 100,000 items, 64-d features, the default
/// model shape (D = H = 64, M = 128, W = 300) with seeded initial parameters (speed does not depend on training).
/// The uncached route runs 100 of the 10,000 users (×100 for all of them). No job attribute: run it with
/// <c>--inprocess</c> (the ShortRun job in this process, one set-up per benchmark, ~4 minutes on 2 cores).
/// </summary>
public class ServingBenchmarks
{
    private const int Users = 10_000, Items = 100_000, Dim = 64;
    private PreparedData _data = null!;
    private AlpineModel _served = null!, _journaled = null!;
    private CpuBackend _backend = null!;
    private Recommender _recommender = null!;
    private int[] _candidates = [];
    private string _dir = "";
    private long _clock;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var log = new InteractionLog();
        for (int u = 0; u < Users; u++)
        {
            long t = 1000L * u;
            for (int k = rng.Next(40, 81); k > 0; k--)
            {
                bool click = rng.NextDouble() < 0.4;
                log.Add(u, rng.Next(Items), t += 1 + rng.Next(5), click, click && rng.NextDouble() < 0.2, click && rng.NextDouble() < 0.05);
            }
        }
        var features = new float[Items * Dim];
        for (int i = 0; i < features.Length; i++) features[i] = (float)(rng.NextDouble() * 2 - 1);
        _data = PreparedData.FromLog(log, new MemoryRows(features, Dim), null, new PrepareOptions(), "bench");
        var config = new ModelConfig { VisualDim = Dim };
        var layout = ModelLayout.Create(config, _data.UserCount, _data.CategoryCount);
        float[] p = ParameterInit.Create(config, layout, _data.Items, _data.LikesFollows, 7);
        _served = AlpineModel.Create(_data, config, p);
        _dir = Path.Combine(Path.GetTempPath(), "alpine-bench-" + Guid.NewGuid().ToString("N"));
        _journaled = AlpineModel.Create(_data, config, p, servingDir: _dir);
        _backend = new CpuBackend(config, _data.Items, _data.UserCount, p);
        _recommender = new Recommender(_data, _backend, BatchMode.SharedPrefix);
        _candidates = [.. Enumerable.Range(0, Items)];
        _clock = _data.Timestamp.Max() + 1;
        long bytes = Enumerable.Range(0, Users).Sum(u => _served.StateBytes(u));
        Console.WriteLine($"// cached state: {bytes / Users:N0} bytes per user on average ({bytes / (1 << 20):N0} MiB for {Users:N0} users)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _journaled.Dispose();
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public int RouteTop100Of10kUsersCached() => _served.Route(17, null, 100).Length;

    [Benchmark]
    public int RouteTo100UsersUncached()
    {
        int n = 0;
        for (int u = 0; u < 100; u++) n += _recommender.Rank(u, [17]).Length;
        return n;
    }

    [Benchmark]
    public int RecommendTop100Of100kCached() => _served.Recommend(3, _candidates, 100).Length;

    [Benchmark]
    public int RecommendTop100Of100kUncached() => _recommender.Rank(3, _candidates).Take(100).Count();

    [Benchmark]
    public void ObserveInMemory() => _served.Observe(new Observation(_next++ % Users, 5, ++_clock, _next % 2 == 0));

    [Benchmark]
    public void ObserveJournaled() => _journaled.Observe(new Observation(_next++ % Users, 5, ++_clock, _next % 2 == 0));

    /// <summary>The uncached path's cost of one user's state: re-encoding the history to score one item.</summary>
    [Benchmark]
    public int ReencodeOneUserUncached() => _recommender.Rank(_next++ % Users, [5]).Length;

    private sealed class MemoryRows(float[] values, int cols) : IFeatureRows
    {
        public long Rows => values.Length / cols;
        public int Cols => cols;
        public void ReadRows(long firstRow, Span<float> dest) => values.AsSpan((int)(firstRow * cols), dest.Length).CopyTo(dest);
    }
}
