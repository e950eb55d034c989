using System.Numerics;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// What a baseline scores: one impression of <see cref="User"/> on <see cref="Item"/> at <see cref="Time"/>, with the
/// items the user clicked and did not click before it (SPEC D2), oldest first, each at most the net's
/// <see cref="BaselineNet.Window"/> most recent, and their timestamps.
/// </summary>
public readonly ref struct Target(int user, int item, long time, ReadOnlySpan<int> clicks, ReadOnlySpan<long> clickTimes,
    ReadOnlySpan<int> notClicks, ReadOnlySpan<long> notClickTimes)
{
    public int User { get; } = user;
    public int Item { get; } = item;
    public long Time { get; } = time;
    /// <summary>(n) item ids, n ≤ <see cref="BaselineNet.Window"/>.</summary>
    public ReadOnlySpan<int> Clicks { get; } = clicks;
    /// <summary>(n) their timestamps.</summary>
    public ReadOnlySpan<long> ClickTimes { get; } = clickTimes;
    /// <summary>(m) item ids, m ≤ <see cref="BaselineNet.Window"/>.</summary>
    public ReadOnlySpan<int> NotClicks { get; } = notClicks;
    public ReadOnlySpan<long> NotClickTimes { get; } = notClickTimes;
}

/// <summary>
/// One baseline network (docs/BASELINES.md): its parameters carved from one flat buffer by <see cref="Layout"/>,
/// and a forward and hand-written backward over a <em>group</em>: targets of one user in position order, so a net
/// can compute what they share once (the projections of the user's clicks, an LSTM over the click sequence). The
/// forward keeps what the backward needs in the group's <see cref="GroupWork{T}"/>. Both are generic so the float64
/// gradient checks run the very code that trains in float32. One group's forward and backward run on one thread and
/// read nothing another group writes, so a batch splits over threads without changing any sum (SPEC D13).
/// </summary>
public abstract class BaselineNet(ItemTable items, int window)
{
    public ItemTable Items { get; } = items;
    /// <summary>
    /// 1 / RMS of the item table's visual entries: <see cref="Features{T}"/> hands the nets x / RMS. The PCA vectors
    /// keep their variances (SPEC D3, no whitening; on a 2,048-d log the first component's RMS is ~16, the table's
    /// ~6), so unscaled they push Glorot-initialised projections and every logit tens of units from zero, and the
    /// first batches' loss far above ln 2. One scale for all dimensions keeps the PCA geometry.
    /// </summary>
    public float FeatureScale { get; } = InverseRms(items.Visual);
    public int VisualDim => Items.VisualDim;
    /// <summary>Most recent clicks a target reads; 0 for the models that read no history.</summary>
    public int Window { get; } = window;
    public ParameterLayout Layout { get; } = new();

    /// <summary>
    /// Writes the logit of each target in <paramref name="positions"/> (impressions of one user, in position order)
    /// into <paramref name="logits"/>, leaving in <paramref name="work"/> what <see cref="BackwardGroup{T}"/> needs.
    /// </summary>
    public abstract void ForwardGroup<T>(ReadOnlySpan<T> p, ImpressionTargets targets, ReadOnlySpan<int> positions, Span<T> logits,
        GroupWork<T> work) where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    /// <summary>
    /// Accumulates ∂loss/∂θ into <paramref name="g"/> (parameter gradients accumulate, STYLE.md) for
    /// ∂loss/∂logit_k = <paramref name="dlogits"/>[k], right after <see cref="ForwardGroup{T}"/> of the same group.
    /// </summary>
    public abstract void BackwardGroup<T>(ReadOnlySpan<T> p, Span<T> g, ImpressionTargets targets, ReadOnlySpan<int> positions,
        ReadOnlySpan<T> dlogits, GroupWork<T> work) where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    /// <summary>
    /// Initial parameters from one seed: Glorot-uniform weights, ±0.05 uniform embeddings, zero biases, each
    /// tensor from its own stream keyed by seed and name (as <see cref="ParameterInit"/>, SPEC D11). A net with
    /// other needs (an LSTM's recurrent matrix and forget bias) adds them in <see cref="InitialiseMore"/>.
    /// </summary>
    public float[] Initialise(ulong seed)
    {
        var p = new float[Layout.Size];
        foreach (TensorSlot s in Layout.Slots)
        {
            var rng = new SplitMix64(seed ^ ParameterInit.Fnv1a(s.Name));
            switch (s.Kind)
            {
                case TensorKind.Weight: ParameterInit.Uniform(s.Of(p), MathF.Sqrt(6f / (s.Rows + s.Cols)), ref rng); break;
                case TensorKind.Embedding: ParameterInit.Uniform(s.Of(p), ParameterInit.EmbeddingScale, ref rng); break;
                case TensorKind.Recurrent: ParameterInit.OrthonormalColumns(s.Of(p), s.Rows, s.Cols, ref rng); break;
                case TensorKind.Bias: break;
            }
        }
        InitialiseMore(p);
        return p;
    }

    protected virtual void InitialiseMore(Span<float> p) { }

    /// <summary>x[r,:] = the visual vectors of <paramref name="ids"/> (SPEC D3) times <see cref="FeatureScale"/>, in T.</summary>
    protected void Features<T>(Span<T> x /*(n,D)*/, ReadOnlySpan<int> ids) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int d = VisualDim;
        for (int r = 0; r < ids.Length; r++)
        {
            ReadOnlySpan<float> src = Items.Visual.AsSpan(ids[r] * d, d);
            Span<T> dst = x.Slice(r * d, d);
            for (int k = 0; k < d; k++) dst[k] = T.CreateTruncating(src[k] * FeatureScale);
        }
    }

    private static float InverseRms(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return sum > 0 ? (float)Math.Sqrt(x.Length / sum) : 1f;
    }
}
