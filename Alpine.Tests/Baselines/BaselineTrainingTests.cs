using Alpine.Baselines;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Tests.Train;

namespace Alpine.Tests.Baselines;

/// <summary>Every registered baseline trains deterministically and learns the tiny data's hidden taste.</summary>
[TestFixture]
public class BaselineTrainingTests
{
    /// <summary>
    /// 40 users of 12…80 impressions: enough validation impressions a user for AUC_user to mean something. The
    /// log's hidden taste is item ≡ −user (mod 3); the baselines see items only through their visual vectors
    /// (docs/BASELINES.md), so three of the eight dimensions carry item mod 3 as one-hot, the rest stay noise.
    /// </summary>
    private static readonly PreparedData Data = TinyData.Prepare(TinyData.Log(21, users: 40, maxPerUser: 80), TasteFeatures(21));

    private static float[] TasteFeatures(int seed)
    {
        float[] x = TinyData.Features(seed);
        for (int i = 0; i < x.Length / TinyData.FeatureDim; i++)
            for (int k = 0; k < 3; k++) x[i * TinyData.FeatureDim + k] = i % 3 == k ? 1f : 0f;
        return x;
    }

    public static IEnumerable<string> Names => BaselineRegistry.Names;

    private static RankingTrainOptions Options(int seed, int threads) =>
        new() { Seed = seed, Epochs = 12, Patience = 4, BatchSize = 256, LearningRate = 3e-3f, Threads = threads };

    private static float[] ScoreAll(IRankingModel model)
    {
        int[] all = Enumerable.Range(0, Data.ImpressionCount).ToArray();
        var logits = new float[all.Length];
        model.Score(Data, all, logits);
        return logits;
    }

    [TestCaseSource(nameof(Names))]
    public void SameSeedSameScoresWhateverTheThreads(string name)
    {
        var a = BaselineRegistry.Create(name);
        var b = BaselineRegistry.Create(name);
        var c = BaselineRegistry.Create(name);
        var fitA = a.Fit(Data, Options(1, threads: 1));
        var fitB = b.Fit(Data, Options(1, threads: 3));
        c.Fit(Data, Options(2, threads: 1));
        Assert.That(fitB.Curve, Is.EqualTo(fitA.Curve));
        Assert.That(ScoreAll(b), Is.EqualTo(ScoreAll(a)), "same seed, other thread count: identical scores");
        Assert.That(ScoreAll(c), Is.Not.EqualTo(ScoreAll(a)), "another seed starts elsewhere");
    }

    [TestCaseSource(nameof(Names))]
    public void BeatsARandomScorerOnValidation(string name)
    {
        var model = BaselineRegistry.Create(name);
        var fit = model.Fit(Data, Options(1, threads: 0));
        TestContext.Out.WriteLine($"{name}: best validation AUC_user {fit.BestValidationAucUser:F4} at epoch {fit.BestEpoch} of {fit.EpochsTrained}");
        Assert.That(fit.BestValidationAucUser, Is.GreaterThan(0.55));
        Assert.That(fit.Curve[fit.BestEpoch - 1].ValidationAucUser, Is.EqualTo(fit.BestValidationAucUser));

        // The kept parameters are the best round's: scoring validation again gives its AUC_user.
        int[] val = Enumerable.Range(0, Data.ImpressionCount).Where(p => Data.Part[p] == SplitPart.Validation).ToArray();
        var logits = new float[val.Length];
        model.Score(Data, val, logits);
        var targets = new ImpressionTargets(Data);
        var report = Alpine.Eval.Metrics.Compute(val.Select(p => targets.UserOf[p]).ToArray(), logits, val.Select(targets.Clicked).ToArray());
        Assert.That(report.AucUser, Is.EqualTo(fit.BestValidationAucUser));
    }

    /// <summary>
    /// On the thacil profile the category level attends over category embeddings: with noise for visual vectors and the
    /// taste in the categories (item mod 3), only that level can find it.
    /// </summary>
    [Test]
    public void ThacilLearnsFromCategoriesAlone()
    {
        var log = TinyData.Log(21, users: 40, maxPerUser: 80);
        var data = TinyData.Prepare(log, TinyData.Features(21), categories: Enumerable.Range(0, 40).Select(i => i % 3).ToArray());
        var fit = BaselineRegistry.Create("thacil").Fit(data, Options(1, threads: 0));
        TestContext.Out.WriteLine($"thacil on categories: best validation AUC_user {fit.BestValidationAucUser:F4} at epoch {fit.BestEpoch}");
        Assert.That(fit.BestValidationAucUser, Is.GreaterThan(0.55));
    }

    /// <summary>
    /// The nets read the visual vectors divided by the table's RMS (docs/BASELINES.md "Feature scale"), so an untrained
    /// net scores a log whose features are 30 times larger as it scores the log itself: no layer starts saturated
    /// or tens of units from zero because the PCA vectors are large.
    /// </summary>
    [TestCaseSource(nameof(Names))]
    public void UntrainedScoresDoNotDependOnTheFeaturesScale(string name)
    {
        var log = TinyData.Log(21, users: 40, maxPerUser: 80);
        float[] x = TinyData.Features(21);
        float[] plain = UntrainedScores(name, TinyData.Prepare(log, x));
        float[] large = UntrainedScores(name, TinyData.Prepare(log, x.Select(v => 30 * v).ToArray()));
        Assert.That(plain.Select(float.Abs).Max(), Is.GreaterThan(1e-3f), "the net scores something");
        Assert.That(large, Is.EqualTo(plain).Within(1e-3f));
    }

    private static float[] UntrainedScores(string name, PreparedData data)
    {
        var net = ((BaselineModel)BaselineRegistry.Create(name)).CreateNet(data);
        int[] all = Enumerable.Range(0, data.ImpressionCount).ToArray();
        var logits = new float[all.Length];
        BatchGradient.Score(net, new ImpressionTargets(data), net.Initialise(1), all, logits, threads: 1);
        return logits;
    }

    [Test]
    public void UnknownNamesAndBadOptionsAreUsageErrors()
    {
        var e = Assert.Throws<UsageException>(() => BaselineRegistry.Create("svd"))!;
        Assert.That(e.Message, Does.Contain("svd").And.Contain("bpr"));
        var model = BaselineRegistry.Create("bpr");
        Assert.Throws<UsageException>(() => model.Fit(Data, new RankingTrainOptions { Epochs = 0 }));
        Assert.Throws<UsageException>(() => model.Fit(Data, new RankingTrainOptions { BatchSize = 0 }));
        Assert.Throws<InvalidOperationException>(() => model.Score(Data, [0], new float[1]));
    }
}
