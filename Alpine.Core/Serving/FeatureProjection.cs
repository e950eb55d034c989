using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Serving;

/// <summary>
/// A raw d-dim feature vector → the prepared item space (SPEC D3). The prepared cache keeps the projected
/// vectors, not the PCA, so the PCA is fitted again, as <c>alpine prepare</c> fitted it (the same train items,
/// sample, dims, eigen-solver, seed and scale), on first use; the refit is checked against the cached vectors of the first
/// items and refused if it does not reproduce them.
/// </summary>
internal sealed class FeatureProjection
{
    private readonly PreparedData _data;
    private readonly Func<(IFeatureRows Rows, IDisposable? Owner)> _open;
    private readonly string _source;
    private readonly Lazy<PcaModel> _pca;
    private readonly Lazy<int> _inputDim;

    /// <param name="open">Opens the raw features the data was prepared from, and what to dispose after use.</param>
    /// <param name="source">Names them in errors.</param>
    public FeatureProjection(PreparedData data, Func<(IFeatureRows Rows, IDisposable? Owner)> open, string source)
    {
        _data = data; _open = open; _source = source;
        _pca = new Lazy<PcaModel>(Fit, LazyThreadSafetyMode.ExecutionAndPublication);
        _inputDim = new Lazy<int>(() => Using(source => source.Cols));
    }

    /// <summary>d, the raw vectors' length (read without fitting).</summary>
    public int InputDim => _inputDim.Value;

    /// <summary>The prepared vector of <paramref name="raw"/> (d floats, finite).</summary>
    public float[] Project(ReadOnlySpan<float> raw)
    {
        if (raw.Length != InputDim)
            throw new ServingInputException("features", $"features has {raw.Length} values; the items' raw features have {InputDim}");
        for (int i = 0; i < raw.Length; i++)
            if (!float.IsFinite(raw[i])) throw new ServingInputException("features", $"features[{i}] is {raw[i]}, not a finite number");
        var pca = _pca.Value;
        var output = new float[pca.OutputDim];
        Pca.Project(pca, new MemoryRows(raw.ToArray(), raw.Length), output);
        return output;
    }

    private T Using<T>(Func<IFeatureRows, T> read)
    {
        var (source, owner) = _open();
        try { return read(source); }
        finally { owner?.Dispose(); }
    }

    private PcaModel Fit() => Using(source =>
    {
        var o = _data.Options;
        var inTrain = new bool[_data.ItemCount];
        for (int p = 0; p < _data.ImpressionCount; p++) if (_data.Part[p] != SplitPart.Test) inTrain[_data.Item[p]] = true;
        var fitIds = Enumerable.Range(0, _data.ItemCount).Where(i => inTrain[i]).ToArray();
        var pca = Pca.Fit(source, Pca.Sample(fitIds, o.MaxFitItems, o.Seed), o.Dims, eigen: o.Eigen, seed: o.Seed).WithScale(o.Scale);
        Check(pca, source);
        return pca;
    });

    /// <summary>The refit must give the cached vectors of the first items (to float rounding: one row is summed
    /// in another order than the prepare's blocks of four).</summary>
    private void Check(PcaModel pca, IFeatureRows source)
    {
        int n = Math.Min(8, _data.ItemCount), k = pca.OutputDim;
        var raw = new float[n * pca.InputDim];
        source.ReadRows(0, raw);
        var projected = new float[n * k];
        Pca.Project(pca, new MemoryRows(raw, pca.InputDim), projected);
        var cached = _data.Items.Visual.AsSpan(0, n * k);
        float scale = 1f + MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(cached));
        for (int i = 0; i < n * k; i++)
            if (MathF.Abs(projected[i] - cached[i]) > 1e-4f * scale)
                throw new DataFormatException(_source, $"the PCA fitted again does not reproduce the prepared vector of item {i / k} " +
                    $"(component {i % k}: {projected[i]} vs {cached[i]}); the features changed since 'alpine prepare'");
    }

    /// <summary>Rows held in memory.</summary>
    private sealed class MemoryRows(float[] values, int cols) : IFeatureRows
    {
        public long Rows => values.Length / cols;
        public int Cols => cols;
        public void ReadRows(long firstRow, Span<float> dest) => values.AsSpan((int)(firstRow * cols), dest.Length).CopyTo(dest);
    }
}
