using Alpine.Baselines;
using Alpine.Cpu;
using Alpine.Data;
using Alpine.Eval;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Reproduce;
using Alpine.Tests.Prep;
using Alpine.Tests.Train;
using Alpine.Train;

namespace Alpine.Tests.Reproduce;

/// <summary>The ALPINE variants behind <see cref="IRankingModel"/>: the trainer's best model, scored as <c>alpine evaluate</c> scores it.</summary>
[TestFixture]
public class AlpineRankingModelTests
{
    private string _dir = "";
    private static readonly RankingTrainOptions Options = new() { Epochs = 3, Patience = 3, BatchSize = 64, Threads = 1 };

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private static int[] TestPositions(PreparedData d) => [.. Enumerable.Range(0, d.ImpressionCount).Where(p => d.Part[p] == SplitPart.Test)];

    [TestCase(Variant.Alpine)]
    [TestCase(Variant.UMG)]
    public void ScoresTheBestValidationModelAsEvaluateDoes(Variant variant)
    {
        var data = TinyData.Prepare(seed: 3, users: 8, maxPerUser: 40);
        var model = new AlpineRankingModel(variant, Path.Combine(_dir, "run"));
        var fit = model.Fit(data, Options);
        Assert.That(fit.Curve, Has.Count.EqualTo(fit.EpochsTrained));
        Assert.That(fit.BestValidationAucUser, Is.EqualTo(fit.Curve.Max(c => c.ValidationAucUser)));
        Assert.That(fit.Curve[fit.BestEpoch - 1].ValidationAucUser, Is.EqualTo(fit.BestValidationAucUser));

        int[] test = TestPositions(data);
        var logits = new float[test.Length];
        model.Score(data, test, logits);
        // The reference: model.alp on a fresh backend through the Evaluator, as `alpine evaluate` runs it.
        var file = ModelFile.Read(model.ModelPath);
        Assert.That(file.Config.Variant, Is.EqualTo(variant));
        var backend = new CpuBackend(file.Config, data.Items, data.UserCount, file.Parameters, threads: 1);
        var batcher = new Batcher(data, file.Config, BatchMode.SharedPrefix);
        var expected = Evaluator.Evaluate(backend, batcher, SplitPart.Test, 64);
        var users = test.Select(p => batcher.UserOf[p]).ToArray();
        var clicks = test.Select(batcher.Clicked).ToArray();
        var got = Metrics.Compute(users, logits, clicks);
        Assert.That(got.AucUser, Is.EqualTo(expected.AucUser));
        Assert.That(got.LogLoss, Is.EqualTo(expected.LogLoss));
        Assert.That(got.Precision, Is.EqualTo(expected.Precision));
    }

    [Test]
    public void SameSeedSameLogitsAndAStoppedFitContinuesFromItsCheckpoint()
    {
        var data = TinyData.Prepare(seed: 4, users: 8, maxPerUser: 40);
        int[] test = TestPositions(data);
        float[] Logits(AlpineRankingModel m) { var l = new float[test.Length]; m.Score(data, test, l); return l; }

        var first = new AlpineRankingModel(Variant.Alpine, Path.Combine(_dir, "a"));
        var fitA = first.Fit(data, Options);
        var again = new AlpineRankingModel(Variant.Alpine, Path.Combine(_dir, "b"));
        again.Fit(data, Options);
        Assert.That(Logits(again), Is.EqualTo(Logits(first)), "one seed, one model (SPEC D13)");

        // Stopped after its first validation round: the next Fit in the same folder continues to the same model.
        string dir = Path.Combine(_dir, "c");
        using var cts = new CancellationTokenSource();
        var stopped = new AlpineRankingModel(Variant.Alpine, dir);
        Assert.Throws<OperationCanceledException>(() => stopped.Fit(data, Options, new Progress(_ => cts.Cancel()), cts.Token));
        Assert.That(File.Exists(Path.Combine(dir, RunFolder.CheckpointFileName)));
        var rounds = new List<RankingProgress>();
        var resumed = new AlpineRankingModel(Variant.Alpine, dir);
        var fitC = resumed.Fit(data, Options, new Progress(rounds.Add));
        Assert.That(rounds.Select(r => r.Epoch), Is.EqualTo(Enumerable.Range(2, fitA.EpochsTrained - 1)), "only the rounds after the checkpoint were trained");
        Assert.That(fitC.Curve, Is.EqualTo(fitA.Curve));
        Assert.That(Logits(resumed), Is.EqualTo(Logits(first)));
        // Other options: the checkpoint is not continued.
        var other = new AlpineRankingModel(Variant.Alpine, dir).Fit(data, Options with { Seed = 2 });
        Assert.That(other.Curve, Is.Not.EqualTo(fitA.Curve));
    }

    [Test]
    public void AttentionWeightsOfATargetSumToOneOverItsWindow()
    {
        var data = TinyData.Prepare(seed: 5, users: 8, maxPerUser: 40);
        var model = new AlpineRankingModel(Variant.Alpine, Path.Combine(_dir, "run"));
        model.Fit(data, Options with { Epochs = 1 });
        var loaded = AlpineRankingModel.Load(Path.Combine(_dir, "run"), data, threads: 1);
        var e = AttentionExample.Of(loaded, data);
        Assert.That(e, Is.Not.Null);
        Assert.That(e!.Positions, Has.Length.InRange(2, 4));
        Assert.That(e.Clicked, Does.Contain(true).And.Contain(false));
        for (int t = 0; t < e.Positions.Length; t++)
        {
            Assert.That(e.End[t], Is.EqualTo(data.ClickHistEnd[e.Positions[t]]));
            Assert.That(e.Alpha[t], Has.Length.EqualTo(e.End[t] - e.Start[t]));
            if (e.Alpha[t].Length > 0) Assert.That(e.Alpha[t].Sum(), Is.EqualTo(1f).Within(1e-5f));
        }
    }

    [Test]
    public void NeighbourDataEqualsPreparingWithThatTopL()
    {
        var log = TinyData.Log(6, users: 8, maxPerUser: 40);
        var one = PreparedData.FromLog(log, new ArrayFeatureRows(TinyData.Features(6), TinyData.FeatureDim), null, new PrepareOptions(), "tiny");
        var three = PreparedData.FromLog(log, new ArrayFeatureRows(TinyData.Features(6), TinyData.FeatureDim), null, new PrepareOptions { TopL = 3 }, "tiny");
        var derived = NeighbourData.WithTopL(one, 3);
        Assert.That(derived.TopL, Is.EqualTo(3));
        Assert.That(derived.Options, Is.EqualTo(three.Options));
        Assert.That(derived.ClickGraphPred, Is.EqualTo(three.ClickGraphPred));
        Assert.That(derived.NotClickGraphPred, Is.EqualTo(three.NotClickGraphPred));
        Assert.That(one.ClickGraphPred, Has.Length.EqualTo(one.ClickItem.Length), "the source keeps its own edges");
        Assert.That(NeighbourData.WithTopL(one, 1), Is.SameAs(one));
    }

    private sealed class Progress(Action<RankingProgress> f) : IProgress<RankingProgress>
    {
        public void Report(RankingProgress value) => f(value);
    }
}
