using Alpine.Data;
using Alpine.Train;

namespace Alpine.Tests.Train;

/// <summary>
/// Scoring under a memory budget (<see cref="Evaluator.PredictWithin"/>): the validation rounds of <c>train</c> and
/// <c>evaluate</c> cut a scoring batch whose LSTM work exceeds the budget into chunks of whole users.
/// </summary>
[TestFixture]
public class ChunkedPredictionTests
{
    /// <summary>A target's logit does not depend on the targets beside it: any cut gives the whole batch's bits.</summary>
    [TestCase(BatchMode.Window, 1L), TestCase(BatchMode.Window, 200L), TestCase(BatchMode.SharedPrefix, 1L), TestCase(BatchMode.SharedPrefix, 60L)]
    public void ChunksGiveTheWholeBatchsLogitsBitForBit(BatchMode mode, long maxCellSteps)
    {
        var data = TinyData.Prepare(seed: 5, users: 7, maxPerUser: 40);
        var config = TinyData.Config(window: 12);
        using var backend = TinyData.Backend(data, config);
        var batcher = new Batcher(data, config, mode);
        int[] positions = batcher.PositionsOf(SplitPart.Test);
        var whole = new float[positions.Length];
        var chunked = new float[positions.Length];
        Evaluator.Predict(backend, batcher, positions, whole, batchSize: 64);
        Assert.That(batcher.CountCellSteps(positions.AsSpan(0, Math.Min(64, positions.Length))), Is.GreaterThan(maxCellSteps),
            "the budget cuts the first batch");
        Evaluator.Predict(backend, batcher, positions, chunked, batchSize: 64, maxCellSteps: maxCellSteps);
        Assert.That(chunked, Is.EqualTo(whole).AsCollection);
        Assert.That(whole, Has.Some.Not.EqualTo(whole[0]), "the logits differ between targets");
    }
}
