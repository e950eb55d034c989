using System.Numerics.Tensors;
using static Alpine.Data.Synthetic.SyntheticParameters;

namespace Alpine.Data.Synthetic;

/// <summary>
/// The raw visual features of the synthetic items (SPEC D17): a fixed random linear map of each
/// item's k-d latent into d dims, plus an offset and uniform noise,
/// <c>f_i = offset + M z_i + noise_i</c>, so PCA to 64-d recovers the latent structure.
/// Rows are computed and written in chunks: the paper preset's 3.2M × 2048 floats (26 GB) never
/// exist in memory (SPEC D18).
/// </summary>
public sealed class SyntheticFeatures
{
    /// <summary>Rows per chunk: 2048 × 2048 floats = 16 MB per buffer.</summary>
    public const int ChunkRows = 2048;

    private readonly SyntheticWorld _world;
    private readonly float[] _map;    // M, stored by latent dim: row j holds column j of M. // (k, d)
    private readonly float[] _offset; // // (d)

    public int Dim { get; }

    public SyntheticFeatures(SyntheticWorld world, int dim)
    {
        _world = world;
        Dim = dim;
        // Keyed by the width, so the 512-d and 2048-d maps are independent draws.
        var rng = SyntheticRng.For(world.Seed, SyntheticStream.World, dim);
        _map = new float[LatentDim * dim];
        double scale = 1 / Math.Sqrt(LatentDim);
        for (int i = 0; i < _map.Length; i++) _map[i] = (float)(scale * rng.Gaussian());
        _offset = new float[dim];
        for (int i = 0; i < dim; i++) _offset[i] = (float)rng.NextDouble();
    }

    /// <summary>Fills rows [first, first + dest.Length / Dim). Rows are independent (own noise stream), so any partition gives the same bytes.</summary>
    public void ComputeRows(long first, Span<float> dest) // (rows, d)
    {
        int rows = dest.Length / Dim;
        for (int r = 0; r < rows; r++) ComputeRow(first + r, dest.Slice(r * Dim, Dim));
    }

    private void ComputeRow(long item, Span<float> row) // (d)
    {
        var rng = SyntheticRng.For(_world.Seed, SyntheticStream.ItemNoise, item);
        rng.FillUniform(row, (float)(FeatureNoise * Math.Sqrt(3))); // uniform on [-a, a) has sd a/√3
        TensorPrimitives.Add(row, _offset, row);
        var z = _world.Latents.AsSpan((int)item * LatentDim, LatentDim);
        // Fused multiply-add is exactly rounded on every machine, unlike MultiplyAdd, which may or may not fuse.
        for (int j = 0; j < LatentDim; j++)
            TensorPrimitives.FusedMultiplyAdd(_map.AsSpan(j * Dim, Dim), z[j], row, row);
    }

    /// <summary>
    /// Writes <c>items.npy</c>: chunk i+1 is computed (rows in parallel) while chunk i is written.
    /// </summary>
    public void Write(string path, IProgress<double>? progress, CancellationToken ct)
    {
        long n = _world.Size.Items;
        using var writer = NpyFile.Create(path, n, Dim);
        var buffers = new[] { new float[ChunkRows * Dim], new float[ChunkRows * Dim] };
        Task pending = Task.CompletedTask;
        int which = 0;
        try
        {
            for (long first = 0; first < n; first += ChunkRows)
            {
                ct.ThrowIfCancellationRequested();
                int rows = (int)Math.Min(ChunkRows, n - first);
                var buf = buffers[which];
                long start = first;
                Parallel.For(0, (rows + 63) / 64, new ParallelOptions { CancellationToken = ct }, b =>
                {
                    int r0 = b * 64, r1 = Math.Min(rows, r0 + 64);
                    ComputeRows(start + r0, buf.AsSpan(r0 * Dim, (r1 - r0) * Dim));
                });
                pending.GetAwaiter().GetResult();
                pending = Task.Run(() => writer.WriteRows(buf.AsSpan(0, rows * Dim)));
                which ^= 1;
                progress?.Report((double)(first + rows) / n);
            }
        }
        finally
        {
            // Never dispose the writer under a write still in flight, even when failing or cancelled.
            pending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        }
        pending.GetAwaiter().GetResult();
        writer.Complete();
    }
}
