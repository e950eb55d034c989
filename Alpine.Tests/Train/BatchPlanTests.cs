using Alpine.Train;

namespace Alpine.Tests.Train;

/// <summary>SPEC "Batch composition" and D13: what each composition puts in a batch, and that it is a pure function of (seed, epoch).</summary>
[TestFixture]
public class BatchPlanTests
{
    // 7 users with 5 to 61 targets each, grouped by user in position order as the prepared data holds them;
    // target positions skip some numbers (validation and test impressions sit between them).
    private static (int[] Targets, int[] UserOf) Data()
    {
        int[] counts = [61, 5, 33, 17, 48, 9, 40];
        var targets = new List<int>();
        var userOf = new List<int>();
        for (int u = 0; u < counts.Length; u++)
            for (int k = 0; k < counts[u] + counts[u] / 4; k++)
            {
                if (k % 5 != 4) targets.Add(userOf.Count);
                userOf.Add(u);
            }
        return ([.. targets], [.. userOf]);
    }

    private static readonly (int Piece, PieceOrder Order)[] Compositions =
        [(1, PieceOrder.Chronological), (4, PieceOrder.Chronological), (16, PieceOrder.Chronological), (4, PieceOrder.Scattered), (16, PieceOrder.Scattered)];

    [Test]
    public void EveryCompositionCoversEachTargetOnceInBatchesOfAtMostTheBatchSize()
    {
        var (targets, userOf) = Data();
        foreach (var (piece, order) in Compositions)
        {
            var plan = BatchPlan.ForEpoch(targets, userOf, batchSize: 24, piece, seed: 3, epoch: 1, order);
            Assert.That(plan.SelectMany(b => b).Order(), Is.EqualTo(targets), $"{piece} {order}: each target once");
            Assert.That(plan.All(b => b.Length is > 0 and <= 24), $"{piece} {order}");
            // Packing is greedy: a batch closes only when the next piece would not fit.
            Assert.That(plan.SkipLast(1).All(b => b.Length > 24 - piece), $"{piece} {order}: batches are full up to a piece");
        }
    }

    [Test]
    public void PiecesAreOneUserEachAndAtMostThePieceSize()
    {
        var (targets, userOf) = Data();
        foreach (var (piece, order) in Compositions)
        {
            var pieces = BatchPlan.ShuffledPieces(targets, userOf, piece, order, seed: 3, epoch: 0);
            Assert.That(pieces.All(p => p.Length <= piece && p.All(t => userOf[t] == userOf[p[0]])), $"{piece} {order}");
            // All of a user's pieces are full but the last: ⌈n / piece⌉ pieces a user.
            foreach (var g in targets.GroupBy(t => userOf[t]))
                Assert.That(pieces.Count(p => userOf[p[0]] == g.Key), Is.EqualTo((g.Count() + piece - 1) / piece), $"{piece} {order} user {g.Key}");
        }
    }

    [Test]
    public void ChronologicalPiecesAreRunsAndScatteredPiecesSpanTheUsersHistory()
    {
        var (targets, userOf) = Data();
        var rank = new Dictionary<int, int>();
        for (int i = 0; i < targets.Length; i++) rank[targets[i]] = i;
        foreach (var p in BatchPlan.ShuffledPieces(targets, userOf, 16, PieceOrder.Chronological, seed: 3, epoch: 0))
            Assert.That(rank[p[^1]] - rank[p[0]], Is.EqualTo(p.Length - 1), "a run of consecutive targets");
        var scattered = BatchPlan.ShuffledPieces(targets, userOf, 16, PieceOrder.Scattered, seed: 3, epoch: 0);
        Assert.That(scattered.All(p => p.SequenceEqual(p.Order())), "each piece in position order");
        // User 0 (61 targets, 4 pieces): every piece reaches over most of the user's history, not a quarter of it.
        var user0 = scattered.Where(p => userOf[p[0]] == 0).ToArray();
        Assert.That(user0, Has.Length.EqualTo(4));
        Assert.That(user0.All(p => rank[p[^1]] - rank[p[0]] > 32), "drawn across the whole history");
    }

    [Test]
    public void RandomTargetsMixUsersAndPiecesOfAUserKeepThemTogether()
    {
        var (targets, userOf) = Data();
        int Users(int[] b) => b.Select(t => userOf[t]).Distinct().Count();
        var random = BatchPlan.ForEpoch(targets, userOf, batchSize: 24, pieceSize: 1, seed: 3, epoch: 0);
        var pieces = BatchPlan.ForEpoch(targets, userOf, batchSize: 24, pieceSize: 24, seed: 3, epoch: 0);
        var scattered = BatchPlan.ForEpoch(targets, userOf, batchSize: 24, pieceSize: 12, seed: 3, epoch: 0, PieceOrder.Scattered);
        TestContext.Out.WriteLine($"users per batch: random {random.Average(Users):F2}, scattered 12 {scattered.Average(Users):F2}, pieces 24 {pieces.Average(Users):F2}");
        Assert.That(random.SkipLast(1).Min(Users), Is.GreaterThanOrEqualTo(5), "24 random targets of 7 users");
        // Full pieces of 24 fill a batch alone; only users' last, shorter pieces share one.
        Assert.That(pieces.Count(b => Users(b) == 1), Is.GreaterThanOrEqualTo(targets.Length / 24 - 1));
        Assert.That(random.Average(Users), Is.GreaterThan(scattered.Average(Users)));
        Assert.That(scattered.Average(Users), Is.GreaterThan(pieces.Average(Users)));
    }

    [Test]
    public void APlanIsAFunctionOfSeedAndEpochOnly()
    {
        var (targets, userOf) = Data();
        foreach (var (piece, order) in Compositions)
        {
            var a = BatchPlan.ForEpoch(targets, userOf, 24, piece, seed: 3, epoch: 2, order);
            Assert.That(BatchPlan.ForEpoch(targets, userOf, 24, piece, seed: 3, epoch: 2, order), Is.EqualTo(a), $"{piece} {order}");
            Assert.That(BatchPlan.ForEpoch(targets, userOf, 24, piece, seed: 3, epoch: 3, order).SelectMany(b => b), Is.Not.EqualTo(a.SelectMany(b => b)));
            Assert.That(BatchPlan.ForEpoch(targets, userOf, 24, piece, seed: 4, epoch: 2, order).SelectMany(b => b), Is.Not.EqualTo(a.SelectMany(b => b)));
        }
        var scattered = BatchPlan.ShuffledPieces(targets, userOf, 8, PieceOrder.Scattered, seed: 3, epoch: 2);
        var other = BatchPlan.ShuffledPieces(targets, userOf, 8, PieceOrder.Scattered, seed: 3, epoch: 3);
        Assert.That(scattered.Select(p => string.Join(",", p)).Order(), Is.Not.EqualTo(other.Select(p => string.Join(",", p)).Order()),
            "each epoch draws a user's pieces afresh, not only their order");
    }
}
