using Alpine.Data;
using Alpine.Eval;
using Alpine.Model;

namespace Alpine.Train;

/// <summary>Scores one part of the data (validation or test) with a backend and computes its metrics (SPEC D14, D15).</summary>
public static class Evaluator
{
    /// <summary>
    /// Predicts every impression of <paramref name="part"/> and computes the metrics; labels are read only
    /// after prediction, to score. The trainer calls this with <see cref="SplitPart.Validation"/> only (SPEC D1).
    /// </summary>
    public static MetricReport Evaluate(IAlpineBackend backend, Batcher batcher, SplitPart part,
        int batchSize, IReadOnlyList<int>? ks = null, CancellationToken ct = default, long maxCellSteps = long.MaxValue)
    {
        int[] targets = batcher.PositionsOf(part);
        var logits = new float[targets.Length];
        Predict(backend, batcher, targets, logits, batchSize, ct, maxCellSteps);
        return Score(batcher, targets, logits, ks);
    }

    /// <summary>
    /// One logit per impression of <paramref name="positions"/>, predicted in scoring batches, each cut to
    /// <paramref name="maxCellSteps"/> (<see cref="PredictWithin"/>).
    /// </summary>
    public static void Predict(IAlpineBackend backend, Batcher batcher, ReadOnlySpan<int> positions, Span<float> logits,
        int batchSize, CancellationToken ct = default, long maxCellSteps = long.MaxValue)
    {
        if (positions.Length != logits.Length) throw new ArgumentException($"{positions.Length} positions, {logits.Length} logits");
        int done = 0;
        // ForScoring keeps position order, so logits[i] belongs to positions[i].
        foreach (int[] batch in BatchPlan.ForScoring(positions, batcher.UserOf, batchSize))
        {
            ct.ThrowIfCancellationRequested();
            PredictWithin(backend, batcher, batch, logits.Slice(done, batch.Length), maxCellSteps);
            done += batch.Length;
        }
    }

    /// <summary>
    /// The logits of one scoring batch, in chunks of whole users (<see cref="Distributed.BatchShares.Chunks"/>) whose LSTM
    /// work stays within <paramref name="maxCellSteps"/> when the whole batch's would not (Window batches of long
    /// histories: the memory budget of <c>--memory-gb</c>). A target's logit does not depend on the targets beside it
    /// (the encoder is causal and its rows independent, SPEC D13), so the chunks give the whole batch's bits.
    /// </summary>
    public static void PredictWithin(IAlpineBackend backend, Batcher batcher, int[] batch, Span<float> logits, long maxCellSteps)
    {
        if (maxCellSteps == long.MaxValue || batcher.CountCellSteps(batch) <= maxCellSteps)
        {
            backend.Predict(batcher.Build(batch), logits);
            return;
        }
        var at = new Dictionary<int, int>(batch.Length);
        for (int i = 0; i < batch.Length; i++) at[batch[i]] = i;
        foreach (int[] chunk in Distributed.BatchShares.Chunks(batch, batcher, maxCellSteps))
        {
            var part = new float[chunk.Length];
            backend.Predict(batcher.Build(chunk), part);
            for (int j = 0; j < chunk.Length; j++) logits[at[chunk[j]]] = part[j];
        }
    }

    /// <summary>The metrics of <paramref name="logits"/>, one per impression of <paramref name="targets"/>, against their labels.</summary>
    public static MetricReport Score(Batcher batcher, int[] targets, float[] logits, IReadOnlyList<int>? ks = null)
    {
        var users = new int[targets.Length];
        var clicks = new bool[targets.Length];
        for (int i = 0; i < targets.Length; i++) { users[i] = batcher.UserOf[targets[i]]; clicks[i] = batcher.Clicked(targets[i]); }
        return Metrics.Compute(users, logits, clicks, ks);
    }
}
