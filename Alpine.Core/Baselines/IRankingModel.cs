using Alpine.Eval;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// What every model compared in <c>alpine reproduce</c> shares: the ALPINE variants and the baselines of the
/// paper's Table 2 (docs/BASELINES.md). Each trains on the train part of one prepared data set, selects its best
/// round on validation AUC_user only (SPEC D1), and scores any impressions afterwards.
/// </summary>
public interface IRankingModel
{
    /// <summary>The name used on the command line and in the tables (lower case, e.g. "bpr", "din", "alpine_umg").</summary>
    string Name { get; }

    /// <summary>
    /// Trains to convergence (or the options' epoch cap) on <see cref="Data.SplitPart.Train"/> impressions; every
    /// validation round scores <see cref="Data.SplitPart.Validation"/>, and the parameters of the best round are
    /// kept. Deterministic for one <see cref="RankingTrainOptions.Seed"/> and thread count.
    /// </summary>
    RankingFit Fit(PreparedData data, RankingTrainOptions options, IProgress<RankingProgress>? progress = null,
        CancellationToken ct = default);

    /// <summary>
    /// Writes one logit per impression: <paramref name="positions"/> are impression indexes into
    /// <paramref name="data"/> (as <see cref="PreparedData.Item"/>); each is scored from what its user did before it
    /// (SPEC D2). Called after <see cref="Fit"/>.
    /// </summary>
    void Score(PreparedData data, ReadOnlySpan<int> positions, Span<float> logits);
}

/// <summary>Training settings every compared model understands; model-specific sizes live in the model.</summary>
public sealed record RankingTrainOptions
{
    public int Seed { get; init; } = 1;
    /// <summary>Cap on epochs; training normally stops on validation (<see cref="Patience"/>, <see cref="MinDelta"/>).</summary>
    public int Epochs { get; init; } = 40;
    public int Patience { get; init; } = 3;
    public float MinDelta { get; init; } = 0.001f;
    public int BatchSize { get; init; } = 2048;
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Worker threads; 0 = all cores.</summary>
    public int Threads { get; init; }
}

/// <summary>One validation round during <see cref="IRankingModel.Fit"/>.</summary>
public readonly record struct RankingProgress(int Epoch, int EpochCap, double TrainLoss, double ValidationAucUser);

/// <summary>What <see cref="IRankingModel.Fit"/> did: the validation curve and the round it kept.</summary>
public sealed record RankingFit(int BestEpoch, int EpochsTrained, double BestValidationAucUser,
    IReadOnlyList<RankingProgress> Curve, MetricReport? BestValidation = null);
