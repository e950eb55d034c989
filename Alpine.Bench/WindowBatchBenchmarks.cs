using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// Building the first Window-mode batch of epoch 0 (≈ 2,000 targets) of a prepared data folder, by default
/// <c>small</c> (<c>alpine generate --preset small --out DIR && alpine prepare --data DIR</c>, then point
/// <c>ALPINE_BENCH_DATA</c> at DIR): truncated windows' edges searched per copied window
/// (<see cref="TemporalGraph.Build"/>, the baseline) against <see cref="WindowEdges"/>, both with a copy of every
/// target's window (<c>Batcher.SharePrefixes</c> off; on, each distinct window is searched once). The setup checks that the
/// two batches are equal and prints how many windows were truncated and distinct.
/// Run: <c>ALPINE_BENCH_DATA=DIR dotnet run -c Release --project Alpine.Bench -- --filter '*WindowBatchBenchmarks*' --job short</c>
/// </summary>
[MedianColumn, MinColumn]
public class WindowBatchBenchmarks
{
    private Batcher _each = null!, _shared = null!;
    private int[] _targets = [];

    [GlobalSetup]
    public void Setup()
    {
        string dir = Environment.GetEnvironmentVariable("ALPINE_BENCH_DATA") ?? Path.Combine("alpine-demo", "data");
        var data = PreparedData.Load(dir);
        var config = new ModelConfig { Profile = data.Profile, VisualDim = data.Items.VisualDim, TopL = data.TopL };
        // A copy of every target's window, as the recorded rows were measured: the search over every copy.
        _shared = new Batcher(data, config, BatchMode.Window) { SharePrefixes = false };
        _each = new Batcher(data, config, BatchMode.Window) { SearchEachWindow = true, SharePrefixes = false };
        var options = new TrainOptions();
        var plan = BatchPlan.ForEpoch(_shared.PositionsOf(SplitPart.Train), _shared.UserOf, options.BatchSize, options.PieceSize, options.Seed, epoch: 0);
        _targets = plan[0];
        Batch a = _each.Build(_targets), b = _shared.Build(_targets);
        if (!Same(a.Clicks, b.Clicks) || !Same(a.NotClicks, b.NotClicks))
            throw new InvalidOperationException("the two paths built different batches");
        foreach (var (name, histEnd) in new[] { ("clicks", data.ClickHistEnd), ("not-clicks", data.NotClickHistEnd) })
        {
            var truncated = _targets.Where(p => histEnd[p] > config.Window).ToArray();
            Console.WriteLine($"// {name}: {truncated.Length} of {_targets.Length} windows truncated, " +
                $"{truncated.Select(p => (_shared.UserOf[p], histEnd[p])).Distinct().Count()} distinct, " +
                $"{truncated.Select(p => _shared.UserOf[p]).Distinct().Count()} users");
        }
    }

    private static bool Same(SequenceSet x, SequenceSet y) =>
        x.Offsets.AsSpan().SequenceEqual(y.Offsets) && x.Items.AsSpan().SequenceEqual(y.Items) && x.GraphPred.AsSpan().SequenceEqual(y.GraphPred);

    /// <summary>Each truncated window searched on its own copy (the path before WindowEdges).</summary>
    [Benchmark(Baseline = true)]
    public Batch SearchEachWindow() => _each.Build(_targets);

    [Benchmark]
    public Batch SharedSearch() => _shared.Build(_targets);
}
