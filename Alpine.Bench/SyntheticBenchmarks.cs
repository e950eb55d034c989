using Alpine.Data;
using Alpine.Data.Synthetic;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// The two costs of <c>alpine generate</c> (SPEC D17): feature rows (offset + M z + noise, 2048-d) against
/// the noise alone as the baseline, and the impression simulation of the small preset's users.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class SyntheticBenchmarks
{
    private const int Rows = 256;
    private SyntheticWorld _world = null!;
    private SyntheticFeatures _features = null!;
    private float[] _rows = null!;

    [GlobalSetup]
    public void Setup()
    {
        _world = SyntheticWorld.Create(SyntheticPreset.Small, 1);
        _features = new SyntheticFeatures(_world, 2048);
        _rows = new float[Rows * 2048];
    }

    /// <summary>The floor: each row's noise stream alone, 256 rows × 2048.</summary>
    [Benchmark(Baseline = true)]
    public void NoiseOnly()
    {
        for (int r = 0; r < Rows; r++)
        {
            var rng = SyntheticRng.For(1, SyntheticStream.ItemNoise, r);
            rng.FillUniform(_rows.AsSpan(r * 2048, 2048), 1f);
        }
    }

    /// <summary>256 complete feature rows (noise + offset + 24 fused multiply-adds), one thread.</summary>
    [Benchmark]
    public void FeatureRows() => _features.ComputeRows(0, _rows);

    /// <summary>All 500 users of the small preset: 300,000 impressions.</summary>
    [Benchmark]
    public int SimulateSmallUsers()
    {
        var log = new InteractionLog((int)_world.Size.Impressions);
        for (int u = 0; u < _world.Size.Users; u++) new SyntheticUser(_world, u).Simulate(_world, log, likesAndFollows: true);
        return log.Count;
    }
}
