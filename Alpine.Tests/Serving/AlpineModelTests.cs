using Alpine.Data;
using Alpine.Inference;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Serving;
using Alpine.Tests.Prep;
using Alpine.Tests.Train;
using Alpine.Train;

namespace Alpine.Tests.Serving;

[TestFixture]
public class AlpineModelTests
{
    private static readonly int[] Candidates = [3, 17, 0, 39, 8, 21];

    private static IEnumerable<ModelConfig> Configs()
    {
        yield return TinyData.Config();
        yield return TinyData.Config(Variant.UMG);
        yield return TinyData.Config(Variant.U) with { CStar = CStarReading.Carried, TopL = 1 };
        yield return TinyData.Config() with { Attention = AttentionKind.ScaledDot, Hidden = TinyData.FeatureDim };
        yield return TinyData.Config(window: 4);
    }

    [TestCaseSource(nameof(Configs))]
    public void ScoresEqualTheRecommendersForEveryUserToFloatRounding(ModelConfig config)
    {
        var (data, c, p) = ServedModels.Tiny(config: config);
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        using var backend = new Alpine.Cpu.CpuBackend(c, data.Items, data.UserCount, p, threads: 1);
        var rec = new Recommender(data, backend, BatchMode.SharedPrefix);
        for (int u = 0; u < data.UserCount; u++)
        {
            var expected = rec.Rank(u, Candidates).ToDictionary(r => r.Item, r => r.Probability);
            var got = served.Score(u, Candidates);
            for (int i = 0; i < Candidates.Length; i++)
                Assert.That(got[i], Is.EqualTo(expected[Candidates[i]]).Within(2e-6f), $"user {u}, item {Candidates[i]}");
        }
    }

    [Test]
    public void ThacilScoresEqualTheRecommenders()
    {
        var (data, c, p) = ServedModels.Tiny(thacil: true);
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        using var backend = new Alpine.Cpu.CpuBackend(c, data.Items, data.UserCount, p, threads: 1);
        var expected = new Recommender(data, backend, BatchMode.SharedPrefix).Rank(2, Candidates).ToDictionary(r => r.Item, r => r.Probability);
        var got = served.Score(2, Candidates);
        for (int i = 0; i < Candidates.Length; i++) Assert.That(got[i], Is.EqualTo(expected[Candidates[i]]).Within(2e-6f));
    }

    [TestCase(300, 1, CStarReading.Neighbor)]
    [TestCase(4, 1, CStarReading.Neighbor)]
    [TestCase(4, 1, CStarReading.Carried)]
    [TestCase(4, 2, CStarReading.Neighbor)]
    [TestCase(300, 3, CStarReading.Carried)]
    public void ObservedStatesEqualReencodingTheExtendedSequencesBitForBit(int window, int topL, CStarReading cStar)
    {
        // W = 4 is far below the tiny users' histories: the kept rows are compacted many times, and an observed
        // step's t* search covers only the W most recent positions (the prepared ones searched the whole sequence).
        // L > 1: an observed position's L nearest within the window, their states averaged (SPEC D4, D5).
        var c = TinyData.Config(window: window) with { TopL = topL, CStar = cStar };
        var data = PreparedData.FromLog(TinyData.Log(5, 6, 30), new ArrayFeatureRows(TinyData.Features(5), c.VisualDim), null,
            new PrepareOptions { TopL = topL }, "tiny");
        var p = ParameterInit.Create(c, ModelLayout.Create(c, data.UserCount, data.CategoryCount), data.Items, data.LikesFollows, 7);
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        var rng = new Random(3);
        long clock = ServedModels.After(data);
        var added = Enumerable.Range(0, data.UserCount).Select(_ => new List<Observation>()).ToArray();
        for (int i = 0; i < 120; i++)
        {
            var o = ServedModels.Next(served, rng.Next(data.UserCount), rng, ref clock);
            served.Observe(o);
            added[o.User].Add(o);
        }
        Assert.That(served.ObservedCount, Is.EqualTo(120));
        for (int u = 0; u < data.UserCount; u++)
        {
            var state = served.StateOf(u);
            AssertReencoded(served, data, window, data.ClickSequences, u, added[u].Where(o => o.Click).Select(o => o.Item), state.Click, "click");
            AssertReencoded(served, data, window, data.NotClickSequences, u, added[u].Where(o => !o.Click).Select(o => o.Item), state.NotClick!, "not-click");
            Assert.That(state.Observed.Items.ToArray(), Is.EqualTo(added[u].Select(o => o.Item)));
        }
    }

    /// <summary>
    /// The branch's kept rows equal a from-scratch encoding of the whole extended sequence whose edges are the
    /// prepared ones for prepared positions and, for observed ones, TemporalGraph.Build on the copy of the W most
    /// recent positions (prepare's own search, run on the window).
    /// </summary>
    private static void AssertReencoded(AlpineModel served, PreparedData data, int window, SequenceSet set, int user, IEnumerable<int> observed,
        BranchState state, string what)
    {
        int L = data.TopL, prepared = set.Length(user);
        int[] items = [.. set.Items.AsSpan(set.Offsets[user], prepared).ToArray(), .. observed];
        var pred = new int[items.Length * L];
        set.GraphPred.AsSpan(set.Offsets[user] * L, prepared * L).CopyTo(pred);
        for (int q = prepared; q < items.Length; q++)
        {
            int from = Math.Max(0, q - window), len = q - from + 1;
            var local = new int[len * L];
            TemporalGraph.Build(items.AsSpan(from, len), data.Items.Visual, data.Items.VisualDim, L, data.Metric, local);
            for (int l = 0; l < L; l++) pred[q * L + l] = local[(len - 1) * L + l] < 0 ? -1 : local[(len - 1) * L + l] + from;
        }
        var expected = served.EncoderOf(set == data.ClickSequences || set.Items == data.ClickItem).Encode(items, pred);
        int h = served.Config.HiddenSize, rows = Math.Min(window, items.Length);
        Assert.That(state.Total, Is.EqualTo(items.Length), $"user {user} {what}: positions");
        Assert.That(state.Count, Is.GreaterThanOrEqualTo(rows));
        Assert.That(state.Window(window, out _).ToArray(), Is.EqualTo(expected.Window(window, out _).ToArray()), $"user {user} {what}: h");
        Assert.That(state.C.Slice((state.Count - rows) * h, rows * h).ToArray(), Is.EqualTo(expected.C.Slice((expected.Count - rows) * h, rows * h).ToArray()),
            $"user {user} {what}: c");
        Assert.That(state.Items.AsSpan(state.Count - rows, rows).ToArray(), Is.EqualTo(items[^rows..]));
    }

    [Test]
    public void LoadedStatesLieInTheSlabAndAnObserveMovesOnlyItsUserOut()
    {
        var (data, c, p) = ServedModels.Tiny();
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        int h = c.HiddenSize, user = 2;
        float[] Rows(int u, bool click) => (click ? served.StateOf(u).Click : served.StateOf(u).NotClick!).Window(c.Window, out _).ToArray();
        for (int u = 0; u < data.UserCount; u++)
            Assert.That(served.StateOf(u).Click.Capacity, Is.EqualTo(served.StateOf(u).Click.Count), $"user {u} is loaded without slack (in the slab)");
        var before = served.StateOf(user);
        float[] oldClick = Rows(user, true), oldNotClick = Rows(user, false);
        var neighbours = new[] { user - 1, user + 1 }.Select(u => (u, Rows(u, true), Rows(u, false))).ToArray();
        var rng = new Random(4);
        long clock = ServedModels.After(data);
        served.Observe(ServedModels.Next(served, user, rng, ref clock) with { Click = true });
        served.Observe(ServedModels.Next(served, user, rng, ref clock) with { Click = true });
        served.Observe(ServedModels.Next(served, user, rng, ref clock) with { Click = false });

        var after = served.StateOf(user);
        Assert.That(after.Click.Count, Is.EqualTo(before.Click.Count + 2));
        Assert.That(after.Click.Capacity, Is.GreaterThan(after.Click.Count), "the observed user's rows moved to buffers of its own, with room");
        Assert.That(after.Click.Window(c.Window, out _)[..^(2 * h)].ToArray(), Is.EqualTo(oldClick), "the kept rows moved unchanged");
        Assert.That(before.Click.Window(c.Window, out _).ToArray(), Is.EqualTo(oldClick), "the snapshot taken before the observes is unchanged");
        Assert.That(before.NotClick!.Window(c.Window, out _).ToArray(), Is.EqualTo(oldNotClick));
        foreach (var (u, click, notClick) in neighbours)
        {
            Assert.That(Rows(u, true), Is.EqualTo(click), $"user {u}'s click rows beside it in the slab");
            Assert.That(Rows(u, false), Is.EqualTo(notClick), $"user {u}'s not-click rows");
        }
    }

    [Test]
    public void AnItemLogSnapshotKeepsItsItemsWhileLaterOnesAppendAndGrow()
    {
        var snapshots = new List<ItemLog> { ItemLog.Empty };
        for (int i = 0; i < 40; i++) snapshots.Add(snapshots[^1].Append(100 + i));
        for (int n = 0; n <= 40; n++)
            Assert.That(snapshots[n].Items.ToArray(), Is.EqualTo(Enumerable.Range(100, n)), $"the snapshot of {n} items");
        Assert.That(snapshots[9].Bytes, Is.EqualTo(snapshots[16].Bytes), "appends share the buffer while it has room");
        Assert.That(snapshots[40].Bytes, Is.LessThanOrEqualTo(4 * 2 * 40), "the buffer at most doubles");
    }

    [Test]
    public void WhileTheSequenceFitsTheWindowObservingEqualsPreparingTheLongerLog()
    {
        // Prepared edges search the whole sequence; the observed step searches the window: equal while it all fits.
        var (data, c, p) = ServedModels.Tiny();
        using var served = AlpineModel.Create(data, c, p, threads: 1);
        int user = 1;
        var rng = new Random(9);
        long clock = ServedModels.After(data);
        var clicks = new List<int>();
        for (int i = 0; i < 10; i++)
        {
            var o = ServedModels.Next(served, user, rng, ref clock) with { Click = true };
            served.Observe(o);
            clicks.Add(o.Item);
        }
        var set = data.ClickSequences;
        int[] items = [.. set.Items.AsSpan(set.Offsets[user], set.Length(user)).ToArray(), .. clicks];
        var pred = new int[items.Length * data.TopL];
        TemporalGraph.Build(items, data.Items.Visual, data.Items.VisualDim, data.TopL, data.Metric, pred);
        var expected = served.EncoderOf(true).Encode(items, pred);
        int h = c.HiddenSize;
        Assert.That(served.StateOf(user).Click.Window(c.Window, out _).ToArray(), Is.EqualTo(expected.Window(c.Window, out _).ToArray()));
    }

    [Test]
    public void RecommendIsTheTopKOfScoreAndSkipsWhatTheUserWasShown()
    {
        using var served = ServedModels.Create();
        var all = served.Score(2, Candidates);
        var top = served.Recommend(2, Candidates, 3);
        var order = Enumerable.Range(0, Candidates.Length).OrderByDescending(i => all[i]).ThenBy(i => i).Take(3);
        Assert.That(top.Select(r => r.Item), Is.EqualTo(order.Select(i => Candidates[i])));
        Assert.That(top.Select(r => r.Probability), Is.EqualTo(order.Select(i => all[i])));
        Assert.That(served.Recommend(2, Candidates, 1000), Has.Length.EqualTo(Candidates.Length), "k past the candidates: all of them");

        var d = served.Data;
        var shown = d.Item.AsSpan(d.UserOffsets[2], d.UserOffsets[3] - d.UserOffsets[2]).ToArray().ToHashSet();
        var unseen = served.Recommend(2, null, 1000).Select(r => r.Item).ToArray();
        Assert.That(unseen, Is.EquivalentTo(Enumerable.Range(0, d.ItemCount).Where(i => !shown.Contains(i))));
        long clock = ServedModels.After(d);
        served.Observe(new Observation(2, unseen[0], clock, false));
        Assert.That(served.Recommend(2, null, 1000).Select(r => r.Item), Does.Not.Contain(unseen[0]), "an observed item is seen");
    }

    [Test]
    public void RouteScoresEveryUserAsScoreDoesAndFeatureVectorsRouteAsTheirItem()
    {
        using var served = ServedModels.Create();
        int item = 17;
        var routed = served.Route(item, null, served.UserCount);
        Assert.That(routed.Select(r => r.User), Is.EquivalentTo(Enumerable.Range(0, served.UserCount)));
        Assert.That(routed.Select(r => r.Probability), Is.Ordered.Descending);
        // Route and Score factor the layer differently (per item, per user): equal to float rounding.
        foreach (var r in routed) Assert.That(r.Probability, Is.EqualTo(served.Score(r.User, [item])[0]).Within(FactoredScoringTests.Bound), $"user {r.User}");
        Assert.That(served.Route(item, [4, 1], 1).Single().User, Is.EqualTo(routed.First(r => r.User is 4 or 1).User));

        var raw = TinyData.Features(5).AsSpan(item * TinyData.FeatureDim, TinyData.FeatureDim).ToArray();
        Assert.That(served.RawFeatureDim, Is.EqualTo(TinyData.FeatureDim));
        var byVector = served.Route(raw, -1, null, served.UserCount);
        Assert.That(byVector.Select(r => r.User), Is.EqualTo(routed.Select(r => r.User)));
        Assert.That(byVector.Select(r => r.Probability), Is.EqualTo(routed.Select(r => r.Probability)).Within(1e-5f));
    }

    [Test]
    public void FeatureVectorsOfDataPreparedWithUnitScaleRouteAsTheirItem()
    {
        // The refitted projection applies prepare's --scale too (else it would not reproduce the cached vectors).
        var features = TinyData.Features(5);
        for (int i = 0; i < features.Length; i++) features[i] *= 40;
        var data = TinyData.Prepare(TinyData.Log(5, 6, 30), features, options: new PrepareOptions { Scale = FeatureScale.Unit });
        double meanSquare = data.Items.Visual.Average(x => (double)x * x);
        Assert.That(meanSquare, Is.InRange(0.5, 2.0), "unit scale");
        var config = TinyData.Config();
        var p = ParameterInit.Create(config, ModelLayout.Create(config, data.UserCount, data.CategoryCount), data.Items, data.LikesFollows, 7);
        using var served = AlpineModel.Create(data, config, p, new Alpine.Tests.Prep.ArrayFeatureRows(features, TinyData.FeatureDim), threads: 1);
        int item = 11;
        var routed = served.Route(item, null, served.UserCount);
        var byVector = served.Route(features.AsSpan(item * TinyData.FeatureDim, TinyData.FeatureDim).ToArray(), -1, null, served.UserCount);
        Assert.That(byVector.Select(r => r.User), Is.EqualTo(routed.Select(r => r.User)));
        Assert.That(byVector.Select(r => r.Probability), Is.EqualTo(routed.Select(r => r.Probability)).Within(1e-5f));
    }

    [Test]
    public void ObserveMovesOnlyThatUsersScores()
    {
        using var served = ServedModels.Create();
        var before = Enumerable.Range(0, served.UserCount).Select(u => served.Score(u, Candidates)).ToArray();
        long clock = ServedModels.After(served.Data);
        served.Observe(new Observation(3, 5, clock, true));
        for (int u = 0; u < served.UserCount; u++)
            if (u == 3) Assert.That(served.Score(u, Candidates), Is.Not.EqualTo(before[u]));
            else Assert.That(served.Score(u, Candidates), Is.EqualTo(before[u]));
    }

    [Test]
    public void BadInputNamesTheField()
    {
        using var served = ServedModels.Create();
        int n = served.UserCount, items = served.ItemCount;
        ServingInputException Fails(TestDelegate call) => Assert.Throws<ServingInputException>(call)!;
        Assert.That(Fails(() => served.Score(n, [1])), Has.Property("Field").EqualTo("user").And.Property("NotFound").True);
        Assert.That(Fails(() => served.Score(-1, [1])).NotFound, Is.True);
        Assert.That(Fails(() => served.Score(0, [items])), Has.Property("Field").EqualTo("items").And.Property("NotFound").True);
        Assert.That(Fails(() => served.Recommend(0, [1, 2, 1], 2)), Has.Property("Field").EqualTo("candidates").And.Message.Contains("twice"));
        Assert.That(Fails(() => served.Recommend(0, [1], 0)).Field, Is.EqualTo("k"));
        Assert.That(Fails(() => served.Route(items, null, 3)).Field, Is.EqualTo("item"));
        Assert.That(Fails(() => served.Route(1, [0, 0], 3)).Field, Is.EqualTo("users"));
        Assert.That(Fails(() => served.Route(new float[TinyData.FeatureDim + 1], -1, null, 3)).Field, Is.EqualTo("features"));
        var nan = new float[TinyData.FeatureDim];
        nan[2] = float.NaN;
        Assert.That(Fails(() => served.Route(nan, -1, null, 3)), Has.Property("Field").EqualTo("features").And.Message.Contains("features[2]"));
        Assert.That(Fails(() => served.Observe(new Observation(n, 1, long.MaxValue, true))).NotFound, Is.True);
        Assert.That(Fails(() => served.Observe(new Observation(0, 1, long.MinValue, true))).Field, Is.EqualTo("timestamp"));
        Assert.That(served.ObservedCount, Is.Zero, "nothing refused was applied");

        using var thacil = ServedModels.Create(thacil: true);
        var x = new float[TinyData.FeatureDim];
        Assert.That(Fails(() => thacil.Route(x, -1, null, 3)), Has.Property("Field").EqualTo("category").And.Property("NotFound").False,
            "a thacil model needs the category: missing is a bad request");
        Assert.That(Fails(() => thacil.Route(x, thacil.Data.CategoryCount, null, 3)), Has.Property("Field").EqualTo("category").And.Property("NotFound").True);
        Assert.That(thacil.Route(x, 0, null, 3), Has.Length.EqualTo(3));
    }

    /// <summary>Observes of one user from several threads at once: serialised, none lost, the state as if applied one by one in the order they landed.</summary>
    [Test]
    public void ConcurrentObservesOfOneUserAreSerialisedAndNoneIsLost()
    {
        using var served = ServedModels.Create();
        using var replay = ServedModels.Create();
        int user = 3;
        long t = ServedModels.After(served.Data);
        static bool Click(int item) => item % 3 == 0;   // known from the item, so the order the items landed in says everything
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var rng = new Random(w);
            for (int i = 0; i < 50; i++)
            {
                int item = rng.Next(served.ItemCount);
                served.Observe(new Observation(user, item, t, Click(item)));
            }
        })).ToArray();
        Assert.That(Task.WaitAll(writers, TimeSpan.FromSeconds(60)), "the writers finish");
        var landed = served.StateOf(user).Observed.Items.ToArray();
        Assert.That(landed, Has.Length.EqualTo(200), "every observe applied");
        Assert.That(served.ObservedCount, Is.EqualTo(200));
        foreach (int item in landed) replay.Observe(new Observation(user, item, t, Click(item)));
        int[] items = [.. Enumerable.Range(0, served.ItemCount)];
        Assert.That(served.Score(user, items), Is.EqualTo(replay.Score(user, items)).AsCollection, "the state of applying them one by one");
        Assert.That(served.StateOf(user).Click.Total, Is.EqualTo(replay.StateOf(user).Click.Total));
    }

    [Test]
    public void RoutesRunningBesideObservesSeeEachUserBeforeOrAfterAnObserveNeverBetween()
    {
        using var served = ServedModels.Create();
        int user = 2, item = 11;
        var possible = new System.Collections.Concurrent.ConcurrentDictionary<float, bool>();
        float Routed() => served.Route(item, [user], 1)[0].Probability;
        possible[Routed()] = true;
        var seen = new System.Collections.Concurrent.ConcurrentBag<float>();
        long clock = ServedModels.After(served.Data);
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 200; i++) seen.Add(served.Route(item, null, served.UserCount).Single(r => r.User == user).Probability);
        })).ToArray();
        var rng = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            served.Observe(ServedModels.Next(served, user, rng, ref clock));
            possible[Routed()] = true;
        }
        Assert.That(Task.WaitAll(readers, TimeSpan.FromSeconds(60)), "the readers finish");
        Assert.That(seen, Is.Not.Empty);
        Assert.That(seen.Where(p => !possible.ContainsKey(p)), Is.Empty, "every route read one whole state");
    }
}
