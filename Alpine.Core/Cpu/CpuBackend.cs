using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Cpu;

/// <summary>
/// <see cref="IAlpineBackend"/> on the CPU: <see cref="CpuModel{T}"/> in float32 over flat parameter,
/// gradient and Adam moment buffers laid out by <see cref="ModelLayout"/>.
/// </summary>
public sealed class CpuBackend : IAlpineBackend
{
    private readonly CpuModel<float> _model;
    private readonly float[] _p, _g, _m, _v;
    private readonly ThreadLimit _limit;
    private float[] _logits = [];   // the logits while the model runs under the thread limit (a span cannot go along)

    /// <param name="initialParameters">From <see cref="ParameterInit.Create"/> (or a model file); copied.</param>
    /// <param name="threads">The most threads the model's work (forward, backward, predict) runs on at once; 0 means
    /// every core. Results are bit-identical whatever this is (SPEC D13).</param>
    public CpuBackend(ModelConfig config, ItemTable items, int userCount, float[] initialParameters, int threads = 0)
    {
        Config = config;
        var model = ModelLayout.ForBackend(config, items, userCount, initialParameters);
        Layout = model.Parameters;
        _model = new CpuModel<float>(config, model, items, threads);
        _limit = new ThreadLimit(threads);
        _p = (float[])initialParameters.Clone();
        _g = new float[Layout.Size];
        _m = new float[Layout.Size];
        _v = new float[Layout.Size];
    }

    public ModelConfig Config { get; }
    public ParameterLayout Layout { get; }

    public void Predict(Batch batch, Span<float> logits) =>
        Limited(logits, l => { _model.Forward(batch, _p, l); return 0f; });

    /// <summary>The click branch's attention weights of one target of the last <see cref="Predict"/> (<see cref="CpuModel{T}.ClickAttention"/>).</summary>
    public ReadOnlySpan<float> ClickAttention(int target) => _model.ClickAttention(target);

    public float ForwardBackward(Batch batch, Span<float> logits)
    {
        if (batch.Label.Length != batch.TargetCount)
            throw new ArgumentException($"training needs one label per target: {batch.TargetCount} targets, {batch.Label.Length} labels", nameof(batch));
        return Limited(logits, l => (float)_model.ForwardBackward(batch, _p, _g, l));
    }

    /// <summary>Runs the model's <paramref name="work"/> under the thread limit, its logits through a buffer there.</summary>
    private float Limited(Span<float> logits, Func<Span<float>, float> work)
    {
        if (!_limit.Limits) return work(logits);
        int n = logits.Length;
        if (_logits.Length < n) _logits = new float[n];
        float[] buffer = _logits;
        float result = _limit.Run(() => work(buffer.AsSpan(0, n)));
        buffer.AsSpan(0, n).CopyTo(logits);
        return result;
    }

    public void ZeroGradients() => Array.Clear(_g);

    public float Step(in AdamSettings settings, int step) => Adam.Step(_p, _g, _m, _v, settings, step);

    public void CopyParametersTo(Span<float> destination) => _p.CopyTo(destination);
    public void LoadParameters(ReadOnlySpan<float> source) => Checked(source, nameof(source)).CopyTo(_p);
    public void CopyGradientsTo(Span<float> destination) => _g.CopyTo(destination);

    public void CopyOptimizerStateTo(Span<float> m, Span<float> v)
    {
        _m.CopyTo(m);
        _v.CopyTo(v);
    }

    public void LoadOptimizerState(ReadOnlySpan<float> m, ReadOnlySpan<float> v)
    {
        Checked(m, nameof(m)).CopyTo(_m);
        Checked(v, nameof(v)).CopyTo(_v);
    }

    public void Dispose() { }

    private ReadOnlySpan<float> Checked(ReadOnlySpan<float> s, string name) =>
        s.Length == Layout.Size ? s : throw new ArgumentException($"expected {Layout.Size} values, got {s.Length}", name);
}
