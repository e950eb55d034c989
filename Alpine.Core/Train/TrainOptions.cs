using Alpine.Model;

namespace Alpine.Train;

/// <summary>How targets are turned into LSTM work (SPEC D12).</summary>
public enum BatchMode
{
    /// <summary>Each user's click and not-click sequences are encoded once per batch; targets attend over windows of them.</summary>
    SharedPrefix,
    /// <summary>The paper: each target re-encodes its own ≤ W most recent items.</summary>
    Window,
}

/// <summary>The trainer's settings (SPEC D11–D13). Everything random derives from <see cref="Seed"/>.</summary>
public sealed record TrainOptions
{
    public BatchMode Mode { get; init; } = BatchMode.SharedPrefix;
    /// <summary>Total epochs; a resumed run continues up to this count.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Early stopping: stop after this many validation rounds without a better AUC_user.</summary>
    public int Patience { get; init; } = 2;
    /// <summary>
    /// When validation rounds fall (<c>--eval-every</c>): 0, at the end of every epoch; N &gt; 0, after every N-th
    /// optimizer step counted across epochs (steps N, 2N, …) and after the last step of the last epoch, so the
    /// final parameters are always validated. <see cref="Trainer.IsRound"/> is the rule.
    /// </summary>
    public int EvalEvery { get; init; }
    /// <summary>Targets per batch (SPEC D11: 2048), at most <see cref="MaxBatchSize"/>.</summary>
    public int BatchSize { get; init; } = 2048;
    /// <summary>32× SPEC's batch: a batch's activations grow with it (W steps per target in Window mode), so far larger ones only run out of memory.</summary>
    public const int MaxBatchSize = 1 << 16;
    /// <summary>
    /// A user's training targets (chronological) are cut into pieces of at most this many, and pieces are
    /// shuffled into batches (<see cref="BatchPlan"/>): SharedPrefix encodes a user's prefix once per piece.
    /// </summary>
    public int PieceSize { get; init; } = 256;
    public AdamSettings Adam { get; init; } = new(LearningRate: 1e-3f);
    public int Seed { get; init; } = 1;

    /// <summary>Throws <see cref="Data.UsageException"/> naming the option when a value cannot work.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new Data.UsageException($"--epochs must be at least 1, got {Epochs}");
        if (Patience < 1) throw new Data.UsageException($"--patience must be at least 1, got {Patience}");
        if (EvalEvery < 0) throw new Data.UsageException($"--eval-every must be 0 (once per epoch) or a number of steps, got {EvalEvery}");
        if (BatchSize is < 1 or > MaxBatchSize) throw new Data.UsageException($"--batch must be from 1 to {MaxBatchSize}, got {BatchSize}");
        if (PieceSize < 1) throw new Data.UsageException($"piece size must be at least 1, got {PieceSize}");
        if (!(Adam.LearningRate > 0) || !float.IsFinite(Adam.LearningRate))
            throw new Data.UsageException($"--lr must be a finite number > 0, got {Adam.LearningRate}");
    }
}
