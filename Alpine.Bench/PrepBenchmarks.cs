using System.Numerics.Tensors;
using Alpine.Prep;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Alpine.Bench;

/// <summary>
/// Preparation hot spots (docs/BENCHMARKS.md "Preparation"):
/// <list type="bullet">
/// <item><c>edges</c>: the temporal-graph search of one W = 300 sequence at 64-d (SPEC D4). Baseline: the same
/// search with <c>TensorPrimitives.Distance</c> per pair (the one-call alternative to the hand-written squared
/// distance; its sqrt also merges near ties).</item>
/// <item><c>covariance</c>: one 128-row symmetric rank-k update of the 2048×2048 float64 covariance (SPEC D3).
/// Baseline: one <c>TensorPrimitives.Dot</c> per (i, j) over the same transposed chunk, rows of i in parallel.</item>
/// </list>
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PrepBenchmarks
{
    private const int T = 300, Dv = 64, Items = 5000, D = 2048;
    private float[] _visual = [];
    private int[] _seq = [];
    private int[] _pred1 = [], _pred4 = [];
    private double[] _q = [], _yt = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _visual = Enumerable.Range(0, Items * Dv).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _seq = Enumerable.Range(0, T).Select(_ => rng.Next(Items)).ToArray();
        _pred1 = new int[T];
        _pred4 = new int[T * 4];
        _q = new double[D * D];
        _yt = Enumerable.Range(0, D * CovarianceAccumulator.Chunk).Select(_ => rng.NextDouble() - 0.5).ToArray();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("edges")]
    public int EdgesDistanceBaseline()
    {
        // L = 1, Euclidean: argmin over k ≤ t−2 of TensorPrimitives.Distance, ties to the most recent k.
        _pred1.AsSpan().Fill(-1);
        _pred1[1] = 0;
        for (int t = 2; t < T; t++)
        {
            var x = _visual.AsSpan(_seq[t] * Dv, Dv);
            float best = float.PositiveInfinity;
            for (int k = 0; k <= t - 2; k++)
            {
                float dist = TensorPrimitives.Distance(x, _visual.AsSpan(_seq[k] * Dv, Dv));
                if (dist <= best) { best = dist; _pred1[t] = k; }
            }
        }
        return _pred1[^1];
    }

    [Benchmark, BenchmarkCategory("edges")]
    public int EdgesEuclideanL1()
    {
        TemporalGraph.Build(_seq, _visual, Dv, 1, EdgeMetric.Euclidean, _pred1);
        return _pred1[^1];
    }

    [Benchmark, BenchmarkCategory("edges")]
    public int EdgesEuclideanL4()
    {
        TemporalGraph.Build(_seq, _visual, Dv, 4, EdgeMetric.Euclidean, _pred4);
        return _pred4[^1];
    }

    [Benchmark, BenchmarkCategory("edges")]
    public int EdgesCosineL1()
    {
        TemporalGraph.Build(_seq, _visual, Dv, 1, EdgeMetric.Cosine, _pred1);
        return _pred1[^1];
    }

    [Benchmark(Baseline = true), BenchmarkCategory("covariance")]
    public double CovarianceDotPerPair()
    {
        const int c = CovarianceAccumulator.Chunk;
        Parallel.For(0, D, i =>
        {
            var yi = _yt.AsSpan(i * c, c);
            for (int j = i; j < D; j++) _q[i * D + j] += TensorPrimitives.Dot(yi, _yt.AsSpan(j * c, c));
        });
        return _q[D - 1];
    }

    [Benchmark, BenchmarkCategory("covariance")]
    public double CovarianceSyrk()
    {
        CovarianceAccumulator.SyrkUpper(_q, _yt, D, CovarianceAccumulator.Chunk);
        return _q[D - 1];
    }
}
