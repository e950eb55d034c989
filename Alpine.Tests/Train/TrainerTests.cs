using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Tests.Train;

[TestFixture]
public class TrainerTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private static readonly TrainOptions Options = new() { Epochs = 2, Patience = 5, BatchSize = 16, PieceSize = 8, Seed = 3, Adam = new AdamSettings(LearningRate: 0.01f) };

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Sync<T>(Action<T> f) : IProgress<T> { public void Report(T value) => f(value); }

    private string Run(PreparedData data, string name, TrainOptions options, BatchMode mode = BatchMode.SharedPrefix,
        IProgress<TrainProgressReport>? progress = null, CancellationToken ct = default)
    {
        string run = Path.Combine(_dir, name);
        Directory.CreateDirectory(run);
        using var backend = TinyData.Backend(data, TinyData.Config(window: 6, profile: data.Profile));
        var result = new Trainer(backend, data, run, mode).Run(new TrainingProgress { Options = options with { Mode = mode } }, progress, ct);
        Assert.That(result.Cancelled, Is.EqualTo(ct.IsCancellationRequested));
        return run;
    }

    /// <summary>What <c>alpine train --resume</c> does: the checkpoint's parameters and Adam state, then on.</summary>
    private static TrainResult Resume(PreparedData data, string run, int epochs)
    {
        var ck = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName));
        var state = ck.Checkpoint!;
        using var backend = TinyData.Backend(data, ck.Config);
        backend.LoadParameters(ck.Parameters);
        backend.LoadOptimizerState(state.M, state.V);
        var p = state.Progress with { Options = state.Progress.Options with { Epochs = epochs } };
        return new Trainer(backend, data, run, p.Options.Mode).Run(p);
    }

    private static byte[] Bytes(string run, string file) => File.ReadAllBytes(Path.Combine(run, file));

    [TestCase(BatchMode.SharedPrefix)]
    [TestCase(BatchMode.Window)]
    public void TwoRunsWithOneSeedWriteBitIdenticalModelFiles(BatchMode mode)
    {
        var data = TinyData.Prepare(seed: 11);
        string a = Run(data, "a", Options, mode);
        string b = Run(data, "b", Options, mode);
        Assert.That(Bytes(a, RunFolder.ModelFileName), Is.EqualTo(Bytes(b, RunFolder.ModelFileName)));
        Assert.That(Bytes(a, RunFolder.CheckpointFileName), Is.EqualTo(Bytes(b, RunFolder.CheckpointFileName)));
        string c = Run(data, "c", Options with { Seed = 4 }, mode);
        Assert.That(ModelFile.Read(Path.Combine(c, RunFolder.CheckpointFileName)).Parameters,
            Is.Not.EqualTo(ModelFile.Read(Path.Combine(a, RunFolder.CheckpointFileName)).Parameters), "another seed, another shuffle");
    }

    [Test]
    public void ThacilProfileTrainsDeterministicallyWithItsCategoryEmbedding()
    {
        var data = TinyData.Prepare(seed: 18, thacil: true);
        Assert.That(data.Profile, Is.EqualTo(Profile.Thacil));
        string a = Run(data, "a", Options);
        string b = Run(data, "b", Options);
        Assert.That(Bytes(a, RunFolder.ModelFileName), Is.EqualTo(Bytes(b, RunFolder.ModelFileName)));
        var model = ModelFile.Read(Path.Combine(a, RunFolder.ModelFileName));
        Assert.That((model.Config.Profile, model.Shape.CategoryCount, model.Shape.ItemDim), Is.EqualTo((Profile.Thacil, 5, 3 + TinyData.FeatureDim)));
    }

    [Test]
    public void OneEpochThenResumeEqualsTwoEpochsBitForBit()
    {
        var data = TinyData.Prepare(seed: 12);
        string whole = Run(data, "whole", Options);
        string split = Run(data, "split", Options with { Epochs = 1 });
        var after1 = ModelFile.Read(Path.Combine(split, RunFolder.CheckpointFileName));
        Assert.That(after1.Checkpoint!.Progress.Epoch, Is.EqualTo(1));
        Assert.That(Resume(data, split, epochs: 2).Progress.Epoch, Is.EqualTo(2));

        var x = ModelFile.Read(Path.Combine(whole, RunFolder.CheckpointFileName));
        var y = ModelFile.Read(Path.Combine(split, RunFolder.CheckpointFileName));
        Assert.That(y.Parameters, Is.EqualTo(x.Parameters), "parameters");
        Assert.That(y.Checkpoint!.M, Is.EqualTo(x.Checkpoint!.M), "Adam m");
        Assert.That(y.Checkpoint.V, Is.EqualTo(x.Checkpoint.V), "Adam v");
        Assert.That(y.Checkpoint.Progress, Is.EqualTo(x.Checkpoint.Progress));
        Assert.That(Bytes(split, RunFolder.ModelFileName), Is.EqualTo(Bytes(whole, RunFolder.ModelFileName)), "the best model");
        Assert.That(File.ReadAllLines(Path.Combine(split, RunFolder.LogFileName)), Has.Length.EqualTo(3), "header + one row per epoch");
    }

    [Test]
    public void CancellingMidEpochCheckpointsAtABatchBoundaryAndResumesExactly()
    {
        var data = TinyData.Prepare(seed: 13);
        string whole = Run(data, "whole", Options);

        using var cts = new CancellationTokenSource();
        int batches = 0;
        string cut = Run(data, "cut", Options, progress: new Sync<TrainProgressReport>(r =>
        {
            if (r.Validation is null && ++batches == 3) cts.Cancel();
        }), ct: cts.Token);
        var ck = ModelFile.Read(Path.Combine(cut, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That((ck.Epoch, ck.BatchInEpoch, ck.Step), Is.EqualTo((0, 3, 3L)), "stopped after the third batch");
        Assert.That(File.Exists(Path.Combine(cut, RunFolder.ModelFileName)), Is.False, "no validation ran, so no best model yet");

        Resume(data, cut, epochs: 2);
        Assert.That(Bytes(cut, RunFolder.CheckpointFileName), Is.EqualTo(Bytes(whole, RunFolder.CheckpointFileName)));
        Assert.That(Bytes(cut, RunFolder.ModelFileName), Is.EqualTo(Bytes(whole, RunFolder.ModelFileName)));
    }

    [TestCase(0)]
    [TestCase(3)]
    public void TrainingNeverReadsTheTestPart(int evalEvery)
    {
        // Flip every test-part label (and drop its likes/follows): if training read them, the model would change.
        var log = TinyData.Log(seed: 14, users: 6, maxPerUser: 30);
        var flipped = new InteractionLog();
        var perUser = Enumerable.Range(0, log.Count).GroupBy(i => log.Users[i]).ToDictionary(g => g.Key, g => g.ToList());
        int changed = 0;
        for (int i = 0; i < log.Count; i++)
        {
            var rows = perUser[log.Users[i]];
            bool test = rows.IndexOf(i) >= 4 * rows.Count / 5; // TinyData: timestamps increase, so the last 20% are test (SPEC D1)
            bool click = test ? !log.Click(i) : log.Click(i);
            if (test) changed++;
            flipped.Add(log.Users[i], log.Items[i], log.Timestamps[i], click, click && !test && log.Like(i), click && !test && log.Follow(i));
        }
        Assert.That(changed, Is.GreaterThan(10));
        var features = TinyData.Features(14);
        var original = TinyData.Prepare(log, features);
        var poisoned = TinyData.Prepare(flipped, features);
        Assert.That(poisoned.Part, Is.EqualTo(original.Part), "the same split");

        foreach (var mode in new[] { BatchMode.SharedPrefix, BatchMode.Window })
        {
            string a = Run(original, $"a{mode}", Options with { EvalEvery = evalEvery }, mode);
            string b = Run(poisoned, $"b{mode}", Options with { EvalEvery = evalEvery }, mode);
            Assert.That(Bytes(b, RunFolder.ModelFileName), Is.EqualTo(Bytes(a, RunFolder.ModelFileName)), mode.ToString());
            Assert.That(Bytes(b, RunFolder.MetricsFileName), Is.EqualTo(Bytes(a, RunFolder.MetricsFileName)));
            Assert.That(LogRows(b).Select(Untimed), Is.EqualTo(LogRows(a).Select(Untimed)), "every round's validation metrics");
        }
    }

    [Test]
    public void EarlyStoppingKeepsTheBestEpochAndStopsAfterPatienceValidationsWithoutGain()
    {
        var data = TinyData.Prepare(seed: 15, users: 8, maxPerUser: 60);
        // A learning rate too small to move any parameter: every validation after the first equals it, never beats it.
        var frozen = Options with { Epochs = 10, Patience = 2, Adam = new AdamSettings(LearningRate: 1e-30f) };
        string run = Run(data, "frozen", frozen);
        var p = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That(double.IsFinite(p.BestAucUser), "the premise: some validation user has both classes");
        Assert.That((p.Epoch, p.BestEpoch, p.SinceBest, p.EarlyStopped), Is.EqualTo((3, 1, 2, true)));
        Assert.That(File.ReadAllLines(Path.Combine(run, RunFolder.LogFileName)), Has.Length.EqualTo(1 + 3));
        // Resuming an early-stopped run with more epochs does nothing.
        Assert.That(Resume(data, run, epochs: 20).Progress.Epoch, Is.EqualTo(3));
    }

    [Test]
    public void TheLogHasOneRowPerEpochWithValidationMetricsAndCellSteps()
    {
        var data = TinyData.Prepare(seed: 16, users: 8, maxPerUser: 60);
        string run = Run(data, "log", Options);
        var lines = File.ReadAllLines(Path.Combine(run, RunFolder.LogFileName));
        var header = lines[0].Split(',');
        Assert.That(header, Does.Contain("val_auc_user").And.Contain("cell_steps").And.Contain("targets_per_s"));
        Assert.That(lines, Has.Length.EqualTo(3));
        for (int e = 1; e <= 2; e++)
        {
            var row = lines[e].Split(',');
            Assert.That(row, Has.Length.EqualTo(header.Length));
            Assert.That(int.Parse(row[Array.IndexOf(header, "epoch")]), Is.EqualTo(e));
            Assert.That(double.Parse(row[Array.IndexOf(header, "val_auc_user")], System.Globalization.CultureInfo.InvariantCulture), Is.InRange(0.0, 1.0));
            Assert.That(long.Parse(row[Array.IndexOf(header, "cell_steps")]), Is.GreaterThan(0));
        }
        Assert.That(File.ReadAllText(Path.Combine(run, RunFolder.MetricsFileName)), Does.Contain("\"part\": \"validation\"").And.Contain("\"auc_user\""));
    }

    [Test]
    public void LossFallsOnLearnableData()
    {
        var data = TinyData.Prepare(seed: 17, users: 8, maxPerUser: 60);
        string run = Run(data, "learn", Options with { Epochs = 6 });
        var rows = File.ReadAllLines(Path.Combine(run, RunFolder.LogFileName)).Skip(1).Select(l => double.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.That(rows[^1], Is.LessThan(rows[0]), string.Join(" ", rows));
    }

    // ---- --eval-every: validation rounds every N steps ----

    /// <summary>The number of batches of each epoch, from the same plan the trainer follows.</summary>
    private static int[] BatchesPerEpoch(PreparedData data, TrainOptions o, BatchMode mode = BatchMode.SharedPrefix)
    {
        var batcher = new Batcher(data, TinyData.Config(window: 6, profile: data.Profile), mode);
        int[] train = batcher.PositionsOf(SplitPart.Train);
        return Enumerable.Range(0, o.Epochs).Select(e => BatchPlan.ForEpoch(train, batcher.UserOf, o.BatchSize, o.PieceSize, o.Seed, e).Length).ToArray();
    }

    /// <summary>
    /// An N from 2 up whose rounds fall inside both epochs and never on the first epoch's end nor the last step, so
    /// the run has a mid-epoch round (and a step after it in the same epoch), a round that counts steps across the
    /// epoch boundary, and a final extra round.
    /// </summary>
    private static int MidEpochEvery(int[] batches)
    {
        int total = batches.Sum();
        for (int n = 2; n < batches[0]; n++)
            if (batches[0] % n != 0 && n + 1 < batches[0] && total % n != 0 && total / n * n > batches[0]) return n;
        Assert.Fail($"no suitable N for batches per epoch {string.Join(",", batches)}");
        return 0;
    }

    private static string[][] LogRows(string run) =>
        File.ReadAllLines(Path.Combine(run, RunFolder.LogFileName)).Skip(1).Select(l => l.Split(',')).ToArray();

    /// <summary>A log row without its wall-clock columns (targets_per_s, seconds): what must be reproducible.</summary>
    private static string Untimed(string[] row) => string.Join(",", row[..10]) + "," + row[11];

    private static double Number(string s) => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public void EvalEveryValidatesEveryNStepsAcrossEpochsAndAfterTheLastStep()
    {
        var data = TinyData.Prepare(seed: 19, users: 8, maxPerUser: 60);
        int[] batches = BatchesPerEpoch(data, Options);
        int n = MidEpochEvery(batches), total = batches.Sum();
        int validations = 0;
        string run = Run(data, "every", Options with { EvalEvery = n, Patience = 1000 }, progress: new Sync<TrainProgressReport>(r =>
        {
            if (r.Validation is not null) validations++;
        }));

        // Steps n, 2n, … (the count running on across the epoch boundary), then the last step.
        var expected = Enumerable.Range(1, total / n).Select(k => (long)k * n).Append(total).ToArray();
        var rows = LogRows(run);
        Assert.That(rows.Select(r => long.Parse(r[0])), Is.EqualTo(expected));
        Assert.That(rows.Select(r => int.Parse(r[1])), Is.EqualTo(expected.Select(s => s <= batches[0] ? 1 : 2)), "the epoch each round fell in");
        Assert.That(validations, Is.EqualTo(expected.Length));
        foreach (var r in rows)
        {
            Assert.That(Number(r[3]), Is.InRange(0.0, 1.0), "val_auc_user");
            Assert.That(long.Parse(r[11]), Is.GreaterThan(0), "cell steps of the round");
        }
        // The rounds' cell-steps add up to the epochs' (each step counted in exactly one round).
        string perEpoch = Run(data, "epochs", Options);
        Assert.That(rows.Sum(r => long.Parse(r[11])), Is.EqualTo(LogRows(perEpoch).Sum(r => long.Parse(r[11]))));

        var p = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That((p.Epoch, p.BatchInEpoch, p.Step, p.Options.EvalEvery), Is.EqualTo((2, 0, (long)total, n)));
        // model.alp is the best round's: metrics.json names that round's step, whose AUC_user no round beat.
        string json = File.ReadAllText(Path.Combine(run, RunFolder.MetricsFileName));
        var best = rows.First(r => json.Contains($"\"step\": {r[0]},"));
        Assert.That(rows.Max(r => Number(r[3])), Is.EqualTo(Number(best[3])));
        Assert.That(rows.TakeWhile(r => r != best).Select(r => Number(r[3])), Is.All.LessThan(Number(best[3])), "the first round to reach the best");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EvalEveryResumesFromAMidEpochCheckpointBitForBit(bool betweenRounds)
    {
        var data = TinyData.Prepare(seed: 20, users: 8, maxPerUser: 60);
        int[] batches = BatchesPerEpoch(data, Options);
        var o = Options with { EvalEvery = MidEpochEvery(batches), Patience = 1000 }; // no early stop: every round is run
        string whole = Run(data, "whole", o);

        // Interrupted at the first round's checkpoint, or one batch later (the round's loss and counts half done).
        using var cts = new CancellationTokenSource();
        long cutAt = o.EvalEvery + (betweenRounds ? 1 : 0);
        string cut = Run(data, "cut", o, progress: new Sync<TrainProgressReport>(r =>
        {
            if (r.Step == cutAt && (r.Validation is not null || betweenRounds)) cts.Cancel();
        }), ct: cts.Token);
        var ck = ModelFile.Read(Path.Combine(cut, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That((ck.Epoch, ck.BatchInEpoch, ck.Step), Is.EqualTo((0, (int)cutAt, cutAt)), "a mid-epoch checkpoint");
        Assert.That(ck.RoundTargets > 0, Is.EqualTo(betweenRounds));

        Assert.That(Resume(data, cut, epochs: 2).Progress.Step, Is.EqualTo((long)batches.Sum()));
        var x = ModelFile.Read(Path.Combine(whole, RunFolder.CheckpointFileName));
        var y = ModelFile.Read(Path.Combine(cut, RunFolder.CheckpointFileName));
        Assert.That(y.Parameters, Is.EqualTo(x.Parameters), "parameters");
        Assert.That(y.Checkpoint!.M, Is.EqualTo(x.Checkpoint!.M), "Adam m");
        Assert.That(y.Checkpoint.V, Is.EqualTo(x.Checkpoint.V), "Adam v");
        Assert.That(Bytes(cut, RunFolder.CheckpointFileName), Is.EqualTo(Bytes(whole, RunFolder.CheckpointFileName)), "the whole checkpoint");
        Assert.That(Bytes(cut, RunFolder.ModelFileName), Is.EqualTo(Bytes(whole, RunFolder.ModelFileName)), "the best model");
        Assert.That(Bytes(cut, RunFolder.MetricsFileName), Is.EqualTo(Bytes(whole, RunFolder.MetricsFileName)));
        Assert.That(LogRows(cut).Select(Untimed), Is.EqualTo(LogRows(whole).Select(Untimed)), "the same rounds, losses and metrics");
    }

    [Test]
    public void GainsBelowMinDeltaSpendPatienceWhileTheBestModelIsStillKept()
    {
        // No AUC_user can gain more than 1: after the first round every round spends patience, whatever it scores.
        var data = TinyData.Prepare(seed: 16, users: 8, maxPerUser: 60);
        string run = Run(data, "delta", Options with { Epochs = 8, Patience = 2, MinDelta = 1f });
        var p = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That((p.Epoch, p.SinceBest, p.EarlyStopped), Is.EqualTo((3, 2, true)), "stopped after rounds 2 and 3 of 8");
        var auc = LogRows(run).Select(r => Number(r[3])).ToArray();
        Assert.That(auc, Has.Length.EqualTo(3));
        Assert.That(p.BestAucUser, Is.EqualTo(auc.Max()), "the best round's model, even when its gain was below MinDelta");
        Assert.That(p.BestEpoch, Is.EqualTo(Array.IndexOf(auc, auc.Max()) + 1));
    }

    [Test]
    public void EvalEveryPatienceCountsValidationRounds()
    {
        var data = TinyData.Prepare(seed: 15, users: 8, maxPerUser: 60);
        var frozen = Options with { Epochs = 10, Patience = 2, EvalEvery = 2, Adam = new AdamSettings(LearningRate: 1e-30f) };
        int[] batches = BatchesPerEpoch(data, frozen);
        Assert.That(batches[0], Is.GreaterThan(6), "the premise: three rounds of 2 steps end inside the first epoch");
        string run = Run(data, "frozen", frozen);
        var p = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName)).Checkpoint!.Progress;
        Assert.That(double.IsFinite(p.BestAucUser), "the premise: some validation user has both classes");
        // Rounds at steps 2 (the best), 4 and 6 (no gain: patience 2 spent): stopped mid-epoch 1 of 10.
        Assert.That((p.Step, p.Epoch, p.BatchInEpoch, p.BestEpoch, p.SinceBest, p.EarlyStopped), Is.EqualTo((6L, 0, 6, 1, 2, true)));
        Assert.That(LogRows(run).Select(r => r[0]), Is.EqualTo(new[] { "2", "4", "6" }));
        Assert.That(File.ReadAllText(Path.Combine(run, RunFolder.MetricsFileName)), Does.Contain("\"step\": 2,"), "the first round's model is kept");
        Assert.That(Resume(data, run, epochs: 20).Progress.Step, Is.EqualTo(6L), "an early-stopped run stays stopped");
    }

    [Test]
    public void EvalEveryOfAnEpochsBatchCountValidatesWhereEpochsDo()
    {
        // Pieces of one target pack every epoch into the same number of batches: rounds every B steps are the epoch ends.
        var data = TinyData.Prepare(seed: 21, users: 8, maxPerUser: 60);
        var o = Options with { PieceSize = 1, Epochs = 3 };
        int[] batches = BatchesPerEpoch(data, o);
        Assert.That(batches.Distinct().Count(), Is.EqualTo(1), "the premise: equal epochs");
        string perEpoch = Run(data, "epochs", o);
        string every = Run(data, "every", o with { EvalEvery = batches[0] });
        Assert.That(LogRows(every).Select(Untimed), Is.EqualTo(LogRows(perEpoch).Select(Untimed)));
        Assert.That(Bytes(every, RunFolder.ModelFileName), Is.EqualTo(Bytes(perEpoch, RunFolder.ModelFileName)));
        Assert.That(Bytes(every, RunFolder.MetricsFileName), Is.EqualTo(Bytes(perEpoch, RunFolder.MetricsFileName)));
        var x = ModelFile.Read(Path.Combine(perEpoch, RunFolder.CheckpointFileName)).Checkpoint!;
        var y = ModelFile.Read(Path.Combine(every, RunFolder.CheckpointFileName)).Checkpoint!;
        Assert.That(y.Progress, Is.EqualTo(x.Progress with { Options = x.Progress.Options with { EvalEvery = batches[0] } }));
    }

    [Test]
    public void ANegativeEvalEveryIsAUsageErrorNamingTheOption()
    {
        var data = TinyData.Prepare(seed: 12);
        var e = Assert.Throws<UsageException>(() => Run(data, "bad", Options with { EvalEvery = -1 }))!;
        Assert.That(e.Message, Does.Contain("--eval-every").And.Contain("-1"));
    }

    [Test]
    public void HugeFiniteFeaturesStopTheRunAsDivergedNamingTheStepAndWritingNothing()
    {
        // Once: one feature row of 1e30 trained to a loss of ~4e33, validation AUC 0.5 and exit 0; the guard caught only NaN.
        // Prepared at the features' own scale (--scale none): the default's unit RMS would divide the huge values away.
        var features = TinyData.Features(seed: 4);
        for (int i = 0; i < features.Length; i += 5) features[i] *= 1e15f;
        var data = TinyData.Prepare(TinyData.Log(4, users: 6, maxPerUser: 30), features, options: new PrepareOptions { Scale = FeatureScale.None });
        string run = Path.Combine(_dir, "huge");
        Directory.CreateDirectory(run);
        using var backend = TinyData.Backend(data, TinyData.Config(window: 6));
        var e = Assert.Throws<UsageException>(() => new Trainer(backend, data, run, BatchMode.SharedPrefix).Run(new TrainingProgress { Options = Options }))!;
        Assert.That(e.Message, Does.Match(@"^training diverged at step \d+ \(loss [0-9.E+]+, above the guard's limit ").And.Contain("nothing was written").And.Contain("--lr").And.Contain("features"));
        Assert.That(File.Exists(Path.Combine(run, RunFolder.ModelFileName)) || File.Exists(Path.Combine(run, RunFolder.CheckpointFileName)), Is.False);
    }

    [Test]
    public void AnExplodingLossKeepsTheLastGoodCheckpointAndSaysWhichStep()
    {
        var data = TinyData.Prepare(seed: 4);
        string run = Run(data, "run", Options with { Epochs = 1 });
        byte[] checkpoint = Bytes(run, RunFolder.CheckpointFileName), model = Bytes(run, RunFolder.ModelFileName);
        var ck = ModelFile.Read(Path.Combine(run, RunFolder.CheckpointFileName));
        long step = ck.Checkpoint!.Progress.Step;

        // The same run continued with a learning rate that blows the weights up within a few steps.
        using var backend = TinyData.Backend(data, ck.Config);
        backend.LoadParameters(ck.Parameters);
        backend.LoadOptimizerState(ck.Checkpoint.M, ck.Checkpoint.V);
        var o = ck.Checkpoint.Progress.Options;
        var p = ck.Checkpoint.Progress with { Options = o with { Epochs = 50, Adam = new AdamSettings(LearningRate: 1e4f) } };
        var e = Assert.Throws<UsageException>(() => new Trainer(backend, data, run, o.Mode).Run(p))!;
        Assert.That(e.Message, Does.StartWith("training diverged at step ").And.Contain($"kept the last good checkpoint {Path.Combine(run, RunFolder.CheckpointFileName)} (step {step})"));
        Assert.That(Bytes(run, RunFolder.CheckpointFileName), Is.EqualTo(checkpoint), "the diverged parameters are not checkpointed");
        Assert.That(Bytes(run, RunFolder.ModelFileName), Is.EqualTo(model));
    }

    [Test]
    public void ANewBestModelRemovesTheTestMetricsOfTheOldOne()
    {
        // Once: after `train --resume`, metrics_test.json still described the previous model.
        var data = TinyData.Prepare(seed: 4);
        string run = Run(data, "run", Options with { Epochs = 1, Patience = 100 });
        string testMetrics = Path.Combine(run, RunFolder.TestMetricsFileName);
        File.WriteAllText(testMetrics, "{\"part\": \"test\"}");
        byte[] model = Bytes(run, RunFolder.ModelFileName);
        Resume(data, run, epochs: 6);
        Assert.That(Bytes(run, RunFolder.ModelFileName), Is.Not.EqualTo(model), "the premise: a better model was found");
        Assert.That(File.Exists(testMetrics), Is.False);
    }
}
