using System.Numerics.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Alpine.Prep;

/// <summary>What <c>alpine prepare --scale</c> does to the PCA vectors (<see cref="PcaModel.Scale"/>).</summary>
public enum FeatureScale
{
    /// <summary>SPEC D3's vectors as they are: their RMS is whatever the raw features' spread is.</summary>
    None = 0,
    /// <summary>
    /// One global factor 1/√(mean of the kept eigenvalues), so the vectors of the fitted items have a mean square of 1
    /// per dim. Relative variances, directions and nearest neighbours stay (it is not whitening).
    /// </summary>
    Unit = 1,
}

/// <summary>
/// A fitted PCA (SPEC D3): <c>z = Scale · Components · (x − Mean)</c>, centred, not whitened. When the input has no
/// more dims than asked for, all of them are kept (k = d): a centred rotation onto the principal axes.
/// </summary>
public sealed class PcaModel
{
    public required int InputDim { get; init; }
    public required int OutputDim { get; init; }
    /// <summary>(InputDim) the mean of the fitted rows.</summary>
    public required double[] Mean { get; init; }
    /// <summary>(OutputDim, InputDim) unit eigenvectors of the covariance, largest variance first.</summary>
    public required double[] Components { get; init; }
    /// <summary>(OutputDim) the eigenvalues (variance along each component, n − 1 denominator).</summary>
    public required double[] Variances { get; init; }
    /// <summary>How many rows the fit saw.</summary>
    public required long FitRows { get; init; }
    /// <summary>The global factor on every output (1 for <see cref="FeatureScale.None"/>).</summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>This fit with the factor <paramref name="scale"/> asks for (the variances stay those of the unscaled components).</summary>
    public PcaModel WithScale(FeatureScale scale)
    {
        double meanVariance = Variances.Length == 0 ? 0 : Variances.Average();
        double factor = scale == FeatureScale.Unit && meanVariance > 0 ? 1.0 / Math.Sqrt(meanVariance) : 1.0;
        return new PcaModel { InputDim = InputDim, OutputDim = OutputDim, Mean = Mean, Components = Components, Variances = Variances, FitRows = FitRows, Scale = factor };
    }
}

/// <summary>
/// Streaming PCA over a feature file (SPEC D3, D18): the fit accumulates mean and covariance chunk by chunk
/// (<see cref="CovarianceAccumulator"/>) and then takes the top eigenvectors by randomized subspace iteration
/// (<see cref="RandomizedEigen"/>, the default) or by MathNet's symmetric eigen-decomposition of the whole matrix with
/// its managed provider (MathNet's OpenBLAS provider ships no Linux native library); the projection
/// streams the rows again. Neither holds more than one chunk of raw rows.
/// </summary>
public static class Pca
{
    /// <summary>Raw rows read per chunk (4096 × 2048 floats = 32 MB).</summary>
    public const int ChunkRows = 4096;

    /// <summary>
    /// Fits on the rows <paramref name="fitRows"/> (ascending, distinct) of <paramref name="source"/>, keeping
    /// min(<paramref name="dims"/>, d) components: <see cref="Covariance"/> then <see cref="FromCovariance"/>.
    /// </summary>
    public static PcaModel Fit(IFeatureRows source, ReadOnlySpan<int> fitRows, int dims,
        IProgress<double>? progress = null, CancellationToken ct = default, int chunkRows = ChunkRows,
        PcaEigen eigen = PcaEigen.Randomized, int seed = 1)
    {
        if (dims < 1) throw new ArgumentOutOfRangeException(nameof(dims), dims, "PCA dims must be positive");
        var (mean, cov) = Covariance(source, fitRows, progress is null ? null : new Scaled(progress, 0.9), ct, chunkRows);
        var model = FromCovariance(mean, cov, fitRows.Length, dims, eigen, seed, ct);
        progress?.Report(1.0);
        return model;
    }

    /// <summary>The mean (d) and covariance (d, d) of the rows <paramref name="fitRows"/> (ascending, distinct), streamed in chunks.</summary>
    public static (double[] Mean, double[] Covariance) Covariance(IFeatureRows source, ReadOnlySpan<int> fitRows,
        IProgress<double>? progress = null, CancellationToken ct = default, int chunkRows = ChunkRows)
    {
        if (fitRows.IsEmpty) throw new ArgumentException("PCA needs at least one row to fit on", nameof(fitRows));
        int d = source.Cols;
        var acc = new CovarianceAccumulator(d);
        int chunk = ChunkFor(d, chunkRows);
        var buf = new float[chunk * d];
        for (int s = 0; s < fitRows.Length; s += chunk)
        {
            ct.ThrowIfCancellationRequested();
            int b = Math.Min(chunk, fitRows.Length - s);
            ReadSelected(source, fitRows.Slice(s, b), buf);
            acc.Add(buf.AsSpan(0, b * d));
            progress?.Report((double)(s + b) / fitRows.Length);
        }
        return acc.Finish();
    }

    /// <summary>
    /// The PCA of a fitted mean and covariance, keeping min(<paramref name="dims"/>, d) components: features of no
    /// more dims than asked for are rotated, not reduced (SPEC D3; raw features of d = 20 were measured to train worse
    /// than their rotation). When fewer components than d are kept, <paramref name="eigen"/> picks randomized subspace
    /// iteration seeded by <paramref name="seed"/> (the default) or the full EVD; keeping all d always takes the full
    /// EVD. Eigenvector signs are fixed so that each component's largest-magnitude entry (the first one on a tie) is
    /// positive, so a fit is reproducible whatever the eigen-solver returns.
    /// </summary>
    public static PcaModel FromCovariance(double[] mean, double[] cov, long fitRows, int dims, PcaEigen eigen = PcaEigen.Randomized,
        int seed = 1, CancellationToken ct = default)
    {
        int d = mean.Length;
        if (dims < 1) throw new ArgumentOutOfRangeException(nameof(dims), dims, "PCA dims must be positive");
        if (cov.Length != d * d) throw new ArgumentException($"cov has length {cov.Length}; expected d² = {d * d}", nameof(cov));
        dims = Math.Min(dims, d);
        var (variances, components) = dims < d && eigen == PcaEigen.Randomized
            ? RandomizedEigen.Top(cov, d, dims, seed, ct: ct)
            : FullEigen(cov, d, dims);
        for (int c = 0; c < dims; c++)
        {
            var row = components.AsSpan(c * d, d);
            int big = 0;
            for (int i = 1; i < d; i++) if (Math.Abs(row[i]) > Math.Abs(row[big])) big = i;
            if (row[big] < 0) TensorPrimitives.Negate(row, row);
        }
        return new PcaModel { InputDim = d, OutputDim = dims, Mean = mean, Components = components, Variances = variances, FitRows = fitRows };
    }

    /// <summary>The <paramref name="k"/> largest eigenpairs of the whole symmetric (d, d) matrix by MathNet's EVD.</summary>
    private static (double[] Values, double[] Vectors) FullEigen(double[] cov, int d, int k)
    {
        // cov is symmetric, so its row-major array is also its column-major storage.
        var evd = Matrix<double>.Build.Dense(d, d, cov).Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues;
        var vectors = evd.EigenVectors;
        // Largest first; equal eigenvalues keep the solver's (deterministic) order.
        var order = Enumerable.Range(0, d).OrderByDescending(j => values[j].Real).ThenBy(j => j).Take(k).ToArray();
        var top = new double[k * d];
        var topValues = new double[k];
        for (int c = 0; c < k; c++)
        {
            for (int i = 0; i < d; i++) top[c * d + i] = vectors[i, order[c]];
            topValues[c] = values[order[c]].Real;
        }
        return (topValues, top);
    }

    /// <summary>
    /// Projects every row of <paramref name="source"/> into <paramref name="output"/> [Rows, OutputDim]
    /// (float32), chunk by chunk; blocks of rows within a chunk run in parallel.
    /// </summary>
    public static void Project(PcaModel model, IFeatureRows source, Span<float> output,
        IProgress<double>? progress = null, CancellationToken ct = default, int chunkRows = ChunkRows)
    {
        int d = model.InputDim, k = model.OutputDim;
        if (source.Cols != d) throw new ArgumentException($"the source has {source.Cols} columns; the model expects {d}", nameof(source));
        if (output.Length != source.Rows * k) throw new ArgumentException($"output has length {output.Length}; expected rows·dims = {source.Rows * k}", nameof(output));
        long rows = source.Rows;
        var w = new float[k * d];                       // (k,d)
        for (int i = 0; i < w.Length; i++) w[i] = (float)(model.Components[i] * model.Scale);
        var mean = new float[d];                        // (d)
        for (int i = 0; i < d; i++) mean[i] = (float)model.Mean[i];
        int chunk = ChunkFor(d, chunkRows);
        var buf = new float[chunk * d];                 // (chunk,d)
        var outChunk = new float[chunk * k];            // (chunk,k)
        for (long r0 = 0; r0 < rows; r0 += chunk)
        {
            ct.ThrowIfCancellationRequested();
            int b = (int)Math.Min(chunk, rows - r0);
            source.ReadRows(r0, buf.AsSpan(0, b * d));
            // Blocks of 4 rows × 2 components (DotBlock) keep 8 sums in registers; the ragged edges use Dot.
            Parallel.For(0, (b + 3) / 4, rb =>
            {
                int r0 = rb * 4, rows4 = Math.Min(4, b - r0);
                for (int r = r0; r < r0 + rows4; r++) TensorPrimitives.Subtract(buf.AsSpan(r * d, d), mean, buf.AsSpan(r * d, d));
                Span<float> s = stackalloc float[8];
                int c = 0;
                if (rows4 == 4)
                    for (; c + 1 < k; c += 2)
                    {
                        DotBlock.Dot4x2<float>(s, buf, r0 * d, d, w, c * d, d, d);
                        for (int a = 0; a < 4; a++) { outChunk[(r0 + a) * k + c] = s[2 * a]; outChunk[(r0 + a) * k + c + 1] = s[2 * a + 1]; }
                    }
                for (; c < k; c++)
                    for (int r = r0; r < r0 + rows4; r++)
                        outChunk[r * k + c] = TensorPrimitives.Dot(w.AsSpan(c * d, d), buf.AsSpan(r * d, d));
            });
            outChunk.AsSpan(0, b * k).CopyTo(output.Slice(checked((int)(r0 * k)), b * k));
            progress?.Report((double)(r0 + b) / rows);
        }
    }

    /// <summary>
    /// A seeded uniform sample (without replacement) of at most <paramref name="max"/> of the ascending ids,
    /// returned ascending; all of them when there are not more (SPEC D3).
    /// </summary>
    public static int[] Sample(int[] ids, int max, int seed)
    {
        if (ids.Length <= max) return ids;
        var a = (int[])ids.Clone();
        var rng = new Random(seed);
        for (int i = 0; i < max; i++)
        {
            int j = rng.Next(i, a.Length);
            (a[i], a[j]) = (a[j], a[i]);
        }
        var s = a[..max];
        Array.Sort(s);
        return s;
    }

    /// <summary>Reports <c>scale · f</c>.</summary>
    private sealed class Scaled(IProgress<double> inner, double scale) : IProgress<double>
    {
        public void Report(double value) => inner.Report(scale * value);
    }

    /// <summary>At most <paramref name="chunkRows"/> rows and at most 32 MB of them.</summary>
    private static int ChunkFor(int d, int chunkRows) => Math.Max(1, Math.Min(chunkRows, (1 << 23) / d));

    /// <summary>Reads the given ascending rows into <paramref name="dest"/>, one read per run of consecutive ids.</summary>
    private static void ReadSelected(IFeatureRows source, ReadOnlySpan<int> rows, float[] dest)
    {
        int d = source.Cols;
        for (int s = 0; s < rows.Length;)
        {
            int e = s + 1;
            while (e < rows.Length && rows[e] == rows[e - 1] + 1) e++;
            source.ReadRows(rows[s], dest.AsSpan(s * d, (e - s) * d));
            s = e;
        }
    }
}
