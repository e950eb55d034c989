using Alpine.Cpu;
using Alpine.Data;
using Alpine.Inference;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Serving;
using Alpine.Train;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Alpine.Bench;

/// <summary>
/// Serving with cached user states (<see cref="AlpineModel"/>) beside the uncached path, <see cref="Recommender"/>,
/// which re-encodes the user's whole history per request, and beside the unfactored prediction layer over the same
/// cached states (<c>Scorer</c>, target by target), in one run: routing one item to the top 100 of 10,000 users,
/// recommending the top 100 of 100,000 candidates for one user, and one observe (in memory, and journaled to the disk
/// or to the OS, <see cref="JournalSync"/>). Each row builds only what it reads (a set-up per target). The data:
/// 10,000 users with 40–80 impressions each over 100,000 items, 64-d features, the default model shape
/// (D = H = 64, M = 128, W = 300) with seeded initial parameters (speed does not depend on training). The uncached
/// route runs 100 of the 10,000 users (×100 for all of them).
/// <para>
/// The job (<see cref="PerCall"/>) times every call on its own (one invocation per iteration, 100 iterations), so the
/// P50/P95/P99 columns are percentiles of single calls, what a request's latency is. It runs in this process (no
/// <c>--inprocess</c> needed): <c>dotnet run -c Release --project Alpine.Bench -- --filter '*ServingBenchmarks*'</c>.
/// </para>
/// </summary>
[Config(typeof(PerCall))]
public class ServingBenchmarks
{
    private const int Users = 10_000, Items = 100_000, Dim = 64;
    private PreparedData _data = null!;
    private AlpineModel? _served;
    private CpuBackend? _backend;
    private Recommender _recommender = null!;
    private int[] _candidates = [], _allUsers = [];
    private string _dir = "";
    private long _clock;
    private int _next;

    /// <summary>The cached model: the factored and the unfactored rows, and the in-memory observe.</summary>
    [GlobalSetup(Targets = [nameof(RouteTop100Of10kUsersCached), nameof(RouteTo10kUsersUnfactored), nameof(RecommendTop100Of100kCached),
        nameof(Score100kUnfactored), nameof(ObserveInMemory)])]
    public void SetupCached()
    {
        var (config, p) = Build();
        _served = AlpineModel.Create(_data, config, p);
        long bytes = Enumerable.Range(0, Users).Sum(u => _served.StateBytes(u));
        Console.WriteLine($"// cached state: {bytes / Users:N0} bytes per user on average ({bytes / (1 << 20):N0} MiB for {Users:N0} users) " +
            $"+ {_served.UserPartBytes / Users:N0} bytes of U part; item cache {_served.ItemCacheBytes / (1 << 20):N0} MiB " +
            $"({_served.ItemCacheBytes / _served.CachedItems:N0} bytes per item, {_served.CachedItems:N0} items)");
    }

    /// <summary>The cached states with the item cache in bfloat16 (<see cref="ItemCachePrecision.BFloat16"/>).</summary>
    [GlobalSetup(Target = nameof(RecommendTop100Of100kCachedBFloat16))]
    public void SetupBFloat16()
    {
        var (config, p) = Build();
        _served = AlpineModel.Create(_data, config, p, precision: ItemCachePrecision.BFloat16);
    }

    /// <summary>The cached states without the item cache: every candidate's head x parts computed per call.</summary>
    [GlobalSetup(Target = nameof(RecommendTop100Of100kNoItemCache))]
    public void SetupNoItemCache()
    {
        var (config, p) = Build();
        _served = AlpineModel.Create(_data, config, p, itemCacheBytes: 0);
    }

    /// <summary>The uncached path: no states, the history re-encoded per call.</summary>
    [GlobalSetup(Targets = [nameof(RouteTo100UsersUncached), nameof(RecommendTop100Of100kUncached), nameof(ReencodeOneUserUncached)])]
    public void SetupUncached()
    {
        var (config, p) = Build();
        _backend = new CpuBackend(config, _data.Items, _data.UserCount, p);
        _recommender = new Recommender(_data, _backend, BatchMode.SharedPrefix);
    }

    [GlobalSetup(Target = nameof(ObserveJournaledDisk))]
    public void SetupJournaledDisk() => SetupJournaled(JournalSync.Disk);

    [GlobalSetup(Target = nameof(ObserveJournaledOs))]
    public void SetupJournaledOs() => SetupJournaled(JournalSync.Os);

    private void SetupJournaled(JournalSync sync)
    {
        var (config, p) = Build();
        _dir = Path.Combine(Path.GetTempPath(), "alpine-bench-" + Guid.NewGuid().ToString("N"));
        _served = AlpineModel.Create(_data, config, p, servingDir: _dir, itemCacheBytes: 0, sync: sync);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _served?.Dispose();
        _backend?.Dispose();
        if (_dir != "") Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The data and seeded parameters every set-up starts from.</summary>
    private (ModelConfig Config, float[] Parameters) Build()
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
        _candidates = [.. Enumerable.Range(0, Items)];
        _allUsers = [.. Enumerable.Range(0, Users)];
        _clock = _data.Timestamp.Max() + 1;
        return (config, ParameterInit.Create(config, layout, _data.Items, _data.LikesFollows, 7));
    }

    [Benchmark]
    public int RouteTop100Of10kUsersCached() => _served!.Route(17, null, 100).Length;

    [Benchmark]
    public int RouteTo10kUsersUnfactored() => _served!.RouteUnfactored(17, _allUsers).Length;

    [Benchmark]
    public int RouteTo100UsersUncached()
    {
        int n = 0;
        for (int u = 0; u < 100; u++) n += _recommender.Rank(u, [17]).Length;
        return n;
    }

    [Benchmark]
    public int RecommendTop100Of100kCached() => _served!.Recommend(3, _candidates, 100).Length;

    [Benchmark]
    public int RecommendTop100Of100kCachedBFloat16() => _served!.Recommend(3, _candidates, 100).Length;

    [Benchmark]
    public int RecommendTop100Of100kNoItemCache() => _served!.Recommend(3, _candidates, 100).Length;

    [Benchmark]
    public int Score100kUnfactored() => _served!.ScoreUnfactored(3, _candidates).Length;

    [Benchmark]
    public int RecommendTop100Of100kUncached() => _recommender.Rank(3, _candidates).Take(100).Count();

    [Benchmark]
    public void ObserveInMemory() => _served!.Observe(new Observation(_next++ % Users, 5, ++_clock, _next % 2 == 0));

    [Benchmark]
    public void ObserveJournaledDisk() => _served!.Observe(new Observation(_next++ % Users, 5, ++_clock, _next % 2 == 0));

    [Benchmark]
    public void ObserveJournaledOs() => _served!.Observe(new Observation(_next++ % Users, 5, ++_clock, _next % 2 == 0));

    /// <summary>The uncached path's cost of one user's state: re-encoding the history to score one item.</summary>
    [Benchmark]
    public int ReencodeOneUserUncached() => _recommender.Rank(_next++ % Users, [5]).Length;

    /// <summary>One call per iteration, 100 iterations after 5 warm-ups; the median (the default column), P95, P99 and max of those calls.</summary>
    private sealed class PerCall : ManualConfig
    {
        public PerCall()
        {
            // In this process: a child build times out on a loaded 2-core machine, and the set-up is the same either way.
            AddJob(Job.Default.WithInvocationCount(1).WithUnrollFactor(1).WithWarmupCount(5).WithIterationCount(100)
                .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)).WithId("PerCall"));
            WithOptions(ConfigOptions.DisableOptimizationsValidator);
            AddColumn(StatisticColumn.P95, new P99(), StatisticColumn.Max);
        }
    }

    /// <summary>The 99th percentile of the iterations (BenchmarkDotNet has no ready column for it).</summary>
    private sealed class P99 : IColumn
    {
        public string Id => "P99";
        public string ColumnName => "P99";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Statistics;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Time;
        public string Legend => "99th percentile of the single-call times";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var s = summary[benchmarkCase]?.ResultStatistics;
            return s is null ? "NA" : $"{s.Percentiles.Percentile(99) / 1e6:N3} ms";
        }
    }

    private sealed class MemoryRows(float[] values, int cols) : IFeatureRows
    {
        public long Rows => values.Length / cols;
        public int Cols => cols;
        public void ReadRows(long firstRow, Span<float> dest) => values.AsSpan((int)(firstRow * cols), dest.Length).CopyTo(dest);
    }
}
