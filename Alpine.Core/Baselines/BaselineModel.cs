using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// A baseline as an <see cref="IRankingModel"/>: builds its net for the data set, trains it with
/// <see cref="BaselineTrainer"/> and scores with the best round's parameters.
/// </summary>
public sealed class BaselineModel(string name, BaselineLoss loss, Func<PreparedData, BaselineNet> create) : IRankingModel
{
    private BaselineNet? _net;
    private float[]? _parameters;
    private PreparedData? _fitData;
    private ImpressionTargets? _targets;
    private int _threads;

    public string Name { get; } = name;
    public BaselineLoss Loss { get; } = loss;

    /// <summary>A new, untrained net of this baseline for <paramref name="data"/> (benchmarks and tests drive it directly).</summary>
    public BaselineNet CreateNet(PreparedData data) => create(data);

    public RankingFit Fit(PreparedData data, RankingTrainOptions options, IProgress<RankingProgress>? progress = null, CancellationToken ct = default)
    {
        var net = CreateNet(data);
        var targets = new ImpressionTargets(data);
        (float[] p, RankingFit fit) = BaselineTrainer.Fit(Name, net, Loss, targets, options, progress, ct);
        (_net, _parameters, _fitData, _targets, _threads) = (net, p, data, targets, options.Threads);
        return fit;
    }

    public void Score(PreparedData data, ReadOnlySpan<int> positions, Span<float> logits)
    {
        if (_net is null || _parameters is null) throw new InvalidOperationException($"{Name}: Score before Fit");
        if (data.UserCount != _fitData!.UserCount || data.ItemCount != _fitData.ItemCount)
            throw new ArgumentException($"{Name}: fitted on {_fitData.UserCount} users and {_fitData.ItemCount} items, asked to score data with {data.UserCount} and {data.ItemCount}");
        foreach (int p in positions)
            if ((uint)p >= (uint)data.ImpressionCount) throw new ArgumentOutOfRangeException(nameof(positions), p, $"an impression index is from 0 to {data.ImpressionCount - 1}");
        var targets = ReferenceEquals(data, _fitData) ? _targets! : new ImpressionTargets(data);
        BatchGradient.Score(_net, targets, _parameters, positions, logits, _threads);
    }
}
