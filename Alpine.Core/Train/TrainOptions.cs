using Alpine.Model;

namespace Alpine.Train;

/// <summary>How targets are turned into LSTM work (SPEC D12).</summary>
public enum BatchMode
{
    /// <summary>Each user's click and not-click sequences are encoded once per batch; targets attend over windows of them.</summary>
    SharedPrefix,
    /// <summary>The paper: each target's LSTM runs over its own ≤ W most recent items (whole-history windows of a user read from one prefix: the same values).</summary>
    Window,
}

/// <summary>What a piece of a user's targets is (<see cref="BatchPlan"/>, SPEC "Batch composition").</summary>
public enum PieceOrder
{
    /// <summary>A run of consecutive targets: SharedPrefix encodes only up to the run's end.</summary>
    Chronological,
    /// <summary>Targets drawn at random across the user's whole history: less correlated, about the whole sequence to encode.</summary>
    Scattered,
}

/// <summary>The trainer's settings (SPEC D11–D13). Everything random derives from <see cref="Seed"/>.</summary>
public sealed record TrainOptions
{
    public BatchMode Mode { get; init; } = BatchMode.SharedPrefix;
    /// <summary>The cap on epochs (training normally stops earlier, on validation); a resumed run continues up to it.</summary>
    public int Epochs { get; init; } = 40;
    /// <summary>
    /// Early stopping (SPEC "Model selection"): stop after this many validation rounds in a row that did not beat
    /// the best AUC_user by more than <see cref="MinDelta"/>. The best model is kept whatever the margin.
    /// </summary>
    public int Patience { get; init; } = 3;
    /// <summary>
    /// The gain in validation AUC_user that counts as progress for <see cref="Patience"/>. At a plateau AUC_user over
    /// `small`'s 500 validation users wobbles by ~0.002 a round: 0.001 lets a slow climb go on while ever smaller
    /// gains end it, and a patience of 3 keeps one bad round from stopping a run that still improves.
    /// </summary>
    public float MinDelta { get; init; } = 0.001f;
    /// <summary>
    /// When validation rounds fall (<c>--eval-every</c>): 0, at the end of every epoch; N &gt; 0, after every N-th
    /// optimizer step counted across epochs (steps N, 2N, …) and after the last step of the last epoch, so the
    /// final parameters are always validated. <see cref="Trainer.IsRound"/> is the rule.
    /// </summary>
    public int EvalEvery { get; init; }
    /// <summary>Targets per batch (SPEC D11: 2048), at most <see cref="MaxBatchSize"/>.</summary>
    public int BatchSize { get; init; } = 2048;
    /// <summary>32× SPEC's batch: a batch's activations grow with it (up to W steps per target in Window mode), so far larger ones only run out of memory.</summary>
    public const int MaxBatchSize = 1 << 16;
    /// <summary>
    /// A user's training targets are cut into pieces of at most this many, and pieces are shuffled into batches
    /// (<see cref="BatchPlan"/>): SharedPrefix encodes a user's prefix once per piece; 1 draws targets at random.
    /// The default, scattered pieces of 256 (about 10 users a batch on `small`), is the cheapest composition measured
    /// within 0.003 validation AUC_user of random targets both at convergence and after 4 epochs (docs/REPRODUCTION.md,
    /// "Batch composition").
    /// </summary>
    public int PieceSize { get; init; } = 256;
    public PieceOrder PieceOrder { get; init; } = PieceOrder.Scattered;
    public AdamSettings Adam { get; init; } = new(LearningRate: 1e-3f);
    public int Seed { get; init; } = 1;

    /// <summary>Throws <see cref="Data.UsageException"/> naming the option when a value cannot work.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new Data.UsageException($"--epochs must be at least 1, got {Epochs}");
        if (Patience < 1) throw new Data.UsageException($"--patience must be at least 1, got {Patience}");
        if (!(MinDelta >= 0) || !float.IsFinite(MinDelta)) throw new Data.UsageException($"--min-delta must be a number ≥ 0, got {MinDelta}");
        if (EvalEvery < 0) throw new Data.UsageException($"--eval-every must be 0 (once per epoch) or a number of steps, got {EvalEvery}");
        if (BatchSize is < 1 or > MaxBatchSize) throw new Data.UsageException($"--batch must be from 1 to {MaxBatchSize}, got {BatchSize}");
        if (PieceSize < 1) throw new Data.UsageException($"--piece must be at least 1 (or random), got {PieceSize}");
        if (!(Adam.LearningRate > 0) || !float.IsFinite(Adam.LearningRate))
            throw new Data.UsageException($"--lr must be a finite number > 0, got {Adam.LearningRate}");
    }
}
