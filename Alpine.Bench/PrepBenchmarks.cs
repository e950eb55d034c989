using System.Numerics.Tensors;
using Alpine.Data.Synthetic;
using Alpine.Prep;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Alpine.Bench;

/// <summary>
/// Preparation hot spots (docs/BENCHMARKS.md "Preparation"):
/// <list type="bullet">
/// <item><c>edges</c>: the temporal-graph search of one W = 300 sequence at 64-d (SPEC D4). Baseline: the same
/// search with <c>TensorPrimitives.Distance</c> per pair (the one-call alternative to the hand-written squared
/// distance; its sqrt also merges near ties).</item>
/// <item><c>covariance</c>: one 256-row block of the 2048×2048 covariance's Σyyᵀ (SPEC D3), upper triangle.
/// Baseline: one float64 <c>TensorPrimitives.Dot</c> per (i, j) over the block transposed, rows of i in parallel;
/// against it <see cref="GramPanels"/> (float32 fused multiply-adds in 8 × 32 register tiles, added to float64).</item>
/// <item><c>pca-eigen</c>: the top 64 eigenvectors of a 2048×2048 covariance of 20,000 synthetic feature rows (the
/// generator's spectrum: 24 structured directions over isotropic noise). Baseline: MathNet's full symmetric EVD
/// (<see cref="PcaEigen.Full"/>); against it <see cref="RandomizedEigen"/> with its defaults.</item>
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
    private float[] _panels = [];
    private double[] _cov = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _visual = Enumerable.Range(0, Items * Dv).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _seq = Enumerable.Range(0, T).Select(_ => rng.Next(Items)).ToArray();
        _pred1 = new int[T];
        _pred4 = new int[T * 4];
        _q = new double[D * D];
        _yt = Enumerable.Range(0, D * CovarianceAccumulator.Block).Select(_ => rng.NextDouble() - 0.5).ToArray();
        // The same block as GramPanels' panels: y[r, i] = yt[i, r].
        _panels = new float[D * CovarianceAccumulator.Block];
        for (int i = 0; i < D; i++)
            for (int r = 0; r < CovarianceAccumulator.Block; r++)
                _panels[i / GramPanels.Width * CovarianceAccumulator.Block * GramPanels.Width + r * GramPanels.Width + i % GramPanels.Width] = (float)_yt[i * CovarianceAccumulator.Block + r];
    }

    [GlobalSetup(Targets = [nameof(PcaFullEvd), nameof(PcaRandomized)])]
    public void SetupCovariance()
    {
        const int rows = 20_000;
        var features = new SyntheticFeatures(SyntheticWorld.Create(new SyntheticSize(10, rows, 100), 1), D);
        var acc = new CovarianceAccumulator(D);
        var buf = new float[SyntheticFeatures.ChunkRows * D];
        for (int r = 0; r < rows; r += SyntheticFeatures.ChunkRows)
        {
            int b = Math.Min(SyntheticFeatures.ChunkRows, rows - r);
            features.ComputeRows(r, buf.AsSpan(0, b * D));
            acc.Add(buf.AsSpan(0, b * D));
        }
        _cov = acc.Finish().Covariance;
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
        const int c = CovarianceAccumulator.Block;
        Parallel.For(0, D, i =>
        {
            var yi = _yt.AsSpan(i * c, c);
            for (int j = i; j < D; j++) _q[i * D + j] += TensorPrimitives.Dot(yi, _yt.AsSpan(j * c, c));
        });
        return _q[D - 1];
    }

    [Benchmark, BenchmarkCategory("covariance")]
    public double CovarianceGramPanels()
    {
        GramPanels.AddUpper(_q, _panels, D, CovarianceAccumulator.Block, CovarianceAccumulator.Block);
        return _q[D - 1];
    }

    [Benchmark(Baseline = true), BenchmarkCategory("pca-eigen")]
    public double PcaFullEvd() =>
        Matrix<double>.Build.Dense(D, D, _cov).Evd(Symmetricity.Symmetric).EigenValues[D - 1].Real;

    [Benchmark, BenchmarkCategory("pca-eigen")]
    public double PcaRandomized() => RandomizedEigen.Top(_cov, D, 64, seed: 1).Values[63];
}
