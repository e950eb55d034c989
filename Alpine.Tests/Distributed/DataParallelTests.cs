using Alpine.Data;
using Alpine.Distributed;
using Alpine.Eval;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Tests.Train;
using Alpine.Train;

namespace Alpine.Tests.Distributed;

/// <summary>
/// A batch's gradient computed in parts (shares across ranks, chunks under a memory budget) against the batch
/// whole: the gradient of the same mean loss within 1e-6 of its norm, the same bits on every rank and every rerun.
/// </summary>
[TestFixture]
public class DataParallelTests
{
    private static readonly PreparedData Data = TinyData.Prepare(seed: 31, users: 9, maxPerUser: 40);

    /// <summary>One global batch of a training epoch: several users, pieces of a few targets.</summary>
    private static int[] GlobalBatch(Batcher batcher) =>
        BatchPlan.ForEpoch(batcher.PositionsOf(SplitPart.Train), batcher.UserOf, batchSize: 48, pieceSize: 6, seed: 2, epoch: 0)[0];

    private sealed record Outcome(float Loss, long CellSteps, float[] Gradient, float[] AfterStep);

    /// <summary>One rank's forward-backward and Adam step on the global batch, from the seed's initial parameters.</summary>
    private static Outcome OneStep(IRankGroup group, BatchMode mode, long maxCellSteps)
    {
        var config = TinyData.Config(window: 5);
        using var backend = TinyData.Backend(Data, config);
        var batcher = new Batcher(Data, config, mode);
        var parallel = new DataParallel(backend, batcher, group, maxCellSteps);
        var (loss, cells) = parallel.ForwardBackward(GlobalBatch(batcher));
        var g = new float[backend.Layout.Size];
        parallel.CopyGradientTo(g);
        parallel.Step(new AdamSettings(LearningRate: 0.01f), 1);
        var p = new float[backend.Layout.Size];
        backend.CopyParametersTo(p);
        return new Outcome(loss, cells, g, p);
    }

    private static Outcome Whole(BatchMode mode) => OneStep(new OneProcess(), mode, long.MaxValue);

    /// <summary>‖a − b‖ / ‖b‖, in float64.</summary>
    internal static double RelativeDistance(float[] a, float[] b)
    {
        double d = 0, n = 0;
        for (int i = 0; i < a.Length; i++) { d += Math.Pow((double)a[i] - b[i], 2); n += (double)b[i] * b[i]; }
        return Math.Sqrt(d / n);
    }

    [Test]
    public void SharesHoldEveryTargetOnceWithEachUserWholeOnOneRank([Values(1, 2, 3, 5)] int ranks)
    {
        var batcher = new Batcher(Data, TinyData.Config(), BatchMode.SharedPrefix);
        int[] batch = GlobalBatch(batcher);
        int[][] shares = BatchShares.Shares(batch, batcher.UserOf, ranks);
        Assert.That(shares, Has.Length.EqualTo(ranks));
        Assert.That(shares.SelectMany(s => s).Order(), Is.EqualTo(batch.Order()));
        var usersByRank = shares.Select(s => s.Select(t => batcher.UserOf[t]).ToHashSet()).ToArray();
        for (int a = 0; a < ranks; a++)
            for (int b = a + 1; b < ranks; b++)
                Assert.That(usersByRank[a].Overlaps(usersByRank[b]), Is.False, $"ranks {a} and {b} share a user");
        int users = usersByRank.Sum(u => u.Count);
        if (users >= 2 * ranks) // a user moves to the rank holding its middle target: no share is more than a user's worth off
            Assert.That(shares.Max(s => s.Length) - shares.Min(s => s.Length), Is.LessThanOrEqualTo(2 * batch.GroupBy(t => batcher.UserOf[t]).Max(g => g.Count())));
    }

    [Test]
    public void ChunksKeepTheShareInOrderWithinTheBudget()
    {
        var batcher = new Batcher(Data, TinyData.Config(window: 5), BatchMode.Window);
        int[] share = GlobalBatch(batcher);
        const long budget = 40;
        var chunks = BatchShares.Chunks(share, batcher, budget);
        Assert.That(chunks, Has.Count.GreaterThan(2));
        Assert.That(chunks.SelectMany(c => c).Order(), Is.EqualTo(share.Order()));
        foreach (var c in chunks)
            Assert.That(c.Length == 1 || batcher.CountCellSteps(c) <= budget, $"a chunk of {c.Length} targets over the budget");
        Assert.That(BatchShares.Chunks(share, batcher, long.MaxValue), Has.Count.EqualTo(1));
    }

    /// <summary>
    /// A user over the budget is cut only where its next target would take the chunk over: its targets in a chunk
    /// share their prefixes, so they are costed together, not each as if alone.
    /// </summary>
    [TestCase(BatchMode.Window, 6, 25L)]
    [TestCase(BatchMode.SharedPrefix, 40, 12L)]
    public void ChunksCutAUserOnlyWhereItsNextTargetWouldGoOverTheBudget(BatchMode mode, int window, long budget)
    {
        var batcher = new Batcher(Data, TinyData.Config(window: window), mode);
        int[] share = batcher.PositionsOf(SplitPart.Train);
        var chunks = BatchShares.Chunks(share, batcher, budget);
        Assert.That(chunks.SelectMany(c => c).Order(), Is.EqualTo(share.Order()));
        int cuts = 0;
        for (int i = 0; i + 1 < chunks.Count; i++)
        {
            int[] c = chunks[i], next = chunks[i + 1];
            Assert.That(c.Length == 1 || batcher.CountCellSteps(c) <= budget, $"chunk {i}: {c.Length} targets over the budget");
            if (batcher.UserOf[c[^1]] != batcher.UserOf[next[0]]) continue;
            cuts++;
            Assert.That(batcher.CountCellSteps([.. c, next[0]]), Is.GreaterThan(budget), $"chunk {i} had room for the next target of its user");
        }
        Assert.That(cuts, Is.GreaterThan(0), "the premise: some user is cut");
    }

    [TestCase(BatchMode.SharedPrefix, 2)]
    [TestCase(BatchMode.SharedPrefix, 3)]
    [TestCase(BatchMode.Window, 2)]
    [TestCase(BatchMode.Window, 3)]
    public void RanksComputeTheWholeBatchGradientAndAgreeToTheBit(BatchMode mode, int ranks)
    {
        var whole = Whole(mode);
        var byRank = ThreadRanks.Run(ranks, g => OneStep(g, mode, long.MaxValue));
        foreach (var o in byRank.Skip(1))
        {
            Assert.That(o.Gradient, Is.EqualTo(byRank[0].Gradient), "every rank holds one gradient");
            Assert.That(o.AfterStep, Is.EqualTo(byRank[0].AfterStep), "every rank takes one step");
            Assert.That(o.Loss, Is.EqualTo(byRank[0].Loss));
        }
        double d = RelativeDistance(byRank[0].Gradient, whole.Gradient);
        TestContext.Out.WriteLine($"{ranks} ranks, {mode}: ‖Δg‖/‖g‖ = {d:E2}, loss {byRank[0].Loss:R} vs {whole.Loss:R}");
        Assert.That(d, Is.LessThanOrEqualTo(1e-6));
        Assert.That(Math.Abs(byRank[0].Loss - whole.Loss), Is.LessThanOrEqualTo(1e-6 * whole.Loss));
        Assert.That(byRank[0].Gradient, Is.Not.EqualTo(new float[whole.Gradient.Length]));
        var rerun = ThreadRanks.Run(ranks, g => OneStep(g, mode, long.MaxValue));
        Assert.That(rerun[0].Gradient, Is.EqualTo(byRank[0].Gradient), "a rerun with the same rank count is bit-identical");
        Assert.That(rerun[0].AfterStep, Is.EqualTo(byRank[0].AfterStep));
    }

    [TestCase(BatchMode.Window)]
    [TestCase(BatchMode.SharedPrefix)]
    public void ChunksUnderTheMemoryBudgetGiveTheWholeBatchGradient(BatchMode mode)
    {
        var whole = Whole(mode);
        var chunked = OneStep(new OneProcess(), mode, maxCellSteps: 40);
        double d = RelativeDistance(chunked.Gradient, whole.Gradient);
        TestContext.Out.WriteLine($"chunked, {mode}: ‖Δg‖/‖g‖ = {d:E2}, loss {chunked.Loss:R} vs {whole.Loss:R}");
        Assert.That(d, Is.LessThanOrEqualTo(1e-6));
        Assert.That(Math.Abs(chunked.Loss - whole.Loss), Is.LessThanOrEqualTo(1e-6 * whole.Loss));
        Assert.That(chunked.Gradient, Is.Not.EqualTo(whole.Gradient), "the budget did cut the batch (else this compares the whole path with itself)");
        Assert.That(OneStep(new OneProcess(), mode, maxCellSteps: 40).Gradient, Is.EqualTo(chunked.Gradient), "a rerun is bit-identical");
    }

    [Test]
    public void OneProcessUnderNoBudgetIsTheBackendsOwnStep()
    {
        var config = TinyData.Config(window: 5);
        using var backend = TinyData.Backend(Data, config);
        var batcher = new Batcher(Data, config, BatchMode.Window);
        var batch = batcher.Build(GlobalBatch(batcher));
        backend.ZeroGradients();
        float loss = backend.ForwardBackward(batch, new float[batch.TargetCount]);
        backend.Step(new AdamSettings(LearningRate: 0.01f), 1);
        var p = new float[backend.Layout.Size];
        backend.CopyParametersTo(p);
        var whole = Whole(BatchMode.Window);
        Assert.That(whole.Loss, Is.EqualTo(loss));
        Assert.That(whole.AfterStep, Is.EqualTo(p));
        Assert.That(whole.CellSteps, Is.EqualTo(Batcher.CellSteps(batch)));
    }

    [Test]
    public void ValidationSplitAcrossRanksScoresAsOneProcess([Values(2, 3)] int ranks)
    {
        var config = TinyData.Config(window: 5);
        MetricReport Score(IRankGroup group)
        {
            using var backend = TinyData.Backend(Data, config);
            var batcher = new Batcher(Data, config, BatchMode.SharedPrefix);
            return new DataParallel(backend, batcher, group, long.MaxValue).Evaluate(SplitPart.Validation, batchSize: 16);
        }
        var one = Score(new OneProcess());
        foreach (var m in ThreadRanks.Run(ranks, Score))
        {
            Assert.That(m.AucUser, Is.EqualTo(one.AucUser));
            Assert.That(m.LogLoss, Is.EqualTo(one.LogLoss));
            Assert.That(m.Precision, Is.EqualTo(one.Precision));
        }
    }

    [Test]
    public void RanksRefuseToStartFromAnotherDataFolderOrCheckpointThanRank0s()
    {
        var config = TinyData.Config(window: 5);
        Action<IRankGroup> Start(Func<int, string> fingerprint, Func<int, long> step) => group =>
        {
            using var backend = TinyData.Backend(Data, config);
            new DataParallel(backend, new Batcher(Data, config, BatchMode.SharedPrefix), group, long.MaxValue)
                .RequireSameStart("DIR", fingerprint(group.Rank), step(group.Rank));
        };
        const string a = "0123456789abcdef", b = "0123456789abcdee", c = "1123456789abcdef";
        Assert.That(() => ThreadRanks.Run(2, g => { Start(_ => a, _ => 5)(g); return 0; }), Throws.Nothing);
        Assert.That(() => ThreadRanks.Run(2, g => { Start(r => r == 0 ? a : c, _ => 5)(g); return 0; }),
            Throws.TypeOf<UsageException>().With.Message.EqualTo("DIR on rank 1 is not the prepared data of rank 0 (fingerprint 1123456789abcdef); every rank needs the same prepared data folder"));
        Assert.That(() => ThreadRanks.Run(3, g => { Start(_ => a, r => r == 2 ? 4 : 5)(g); return 0; }),
            Throws.TypeOf<UsageException>().With.Message.EqualTo("rank 2 starts at step 4 and rank 0 at step 5: every rank needs the same RUN/checkpoint.alp to resume"));
        Assert.That(b[..13], Is.EqualTo(a[..13]), "the check reads 13 hex digits: 52 bits of the SHA-256");
    }

    [Test]
    public void TheRankCountTravelsInTheDeviceText()
    {
        Assert.That(RankTag.Tag("cpu", 1), Is.EqualTo("cpu"));
        Assert.That(RankTag.Parse(RankTag.Tag("cpu", 4)), Is.EqualTo(("cpu", 4)));
        Assert.That(RankTag.Parse("gpu"), Is.EqualTo(("gpu", 1)));
        Assert.That(RankTag.Parse(""), Is.EqualTo(("", 1)));
        Assert.That(RankTag.Parse("cpu, x ranks"), Is.EqualTo(("cpu, x ranks", 1)));
    }
}
