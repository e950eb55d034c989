using Alpine.Data;
using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class CpuBackendTests
{
    private static (ModelConfig C, ItemTable Items, float[] P) Setup(Variant v = Variant.Alpine, Profile profile = Profile.Thacil)
    {
        ModelConfig c = TinyModel.Config(v, profile: profile);
        ItemTable items = TinyModel.ItemTable(c);
        ParameterLayout layout = ModelLayout.Create(c, TinyModel.Users, TinyModel.Categories);
        return (c, items, TinyModel.Parameters(c, layout, items));
    }

    /// <summary>A larger random SharedPrefix batch, so every thread range has work.</summary>
    private static Batch Larger(int seed)
    {
        var r = new Random(seed);
        int users = 3, targets = 40;
        int[] seq = Enumerable.Range(0, targets).Select(t => t % users).ToArray();
        int[] lengths = [23, 17, 30];
        int[] Ends(int[] lens) => seq.Select(s => r.Next(lens[s] + 1)).ToArray();
        int[] cEnd = Ends(lengths), nEnd = Ends([11, 25, 9]);
        return new Batch
        {
            Clicks = TinyModel.Sequences(lengths, 1, seed), NotClicks = TinyModel.Sequences([11, 25, 9], 1, seed + 1),
            TargetUser = seq, TargetItem = seq.Select(_ => r.Next(TinyModel.Items)).ToArray(),
            Label = seq.Select(_ => (float)r.Next(2)).ToArray(),
            ClickSeq = seq, ClickStart = cEnd.Select(e => Math.Max(0, e - 8)).ToArray(), ClickEnd = cEnd,
            NotClickSeq = seq, NotClickStart = nEnd.Select(e => Math.Max(0, e - 8)).ToArray(), NotClickEnd = nEnd,
        };
    }

    private static (float[] Grad, float[] Logits, float[] Params) TwoSteps(int threads)
    {
        var (c, items, p) = Setup();
        using var backend = new CpuBackend(c, items, TinyModel.Users, p, threads);
        var logits = new float[40];
        for (int step = 1; step <= 2; step++)
        {
            backend.ZeroGradients();
            backend.ForwardBackward(Larger(step), logits);
            backend.Step(new AdamSettings(), step);
        }
        var g = new float[backend.Layout.Size];
        var q = new float[backend.Layout.Size];
        backend.CopyGradientsTo(g);
        backend.CopyParametersTo(q);
        return (g, logits, q);
    }

    [Test]
    public void TwoRunsAreBitIdentical()
    {
        var a = TwoSteps(threads: 2);
        var b = TwoSteps(threads: 2);
        Assert.That(b.Grad, Is.EqualTo(a.Grad));
        Assert.That(b.Logits, Is.EqualTo(a.Logits));
        Assert.That(b.Params, Is.EqualTo(a.Params));
        Assert.That(a.Grad, Has.Some.Not.Zero);
    }

    [Test]
    public void TheThreadCountChangesNoBit()
    {
        // Every output element is written by one range in a fixed order (Workers), whatever the ranges are.
        var one = TwoSteps(threads: 1);
        var three = TwoSteps(threads: 3);
        Assert.That(three.Grad, Is.EqualTo(one.Grad));
        Assert.That(three.Params, Is.EqualTo(one.Params));
    }

    [Test]
    public void PositionsAfterEveryWindowChangeNothing()
    {
        // The LSTM is causal and attention reads only [Start, End): items after the last End of a sequence must
        // leave logits and every gradient bit-identical (they are computed, but contribute exact zeros).
        var (c, items, p) = Setup();
        Batch a = TinyModel.Batch();
        SequenceSet clicks = a.Clicks;
        int lastEnd0 = Enumerable.Range(0, a.TargetCount).Where(t => a.ClickSeq[t] == 1).Max(t => a.ClickEnd[t]);
        Assert.That(lastEnd0, Is.LessThan(clicks.Length(1)), "sequence 1 has positions after every window");
        int[] changed = (int[])clicks.Items.Clone();
        for (int i = clicks.Offsets[1] + lastEnd0; i < clicks.Offsets[2]; i++) changed[i] = (changed[i] + 5) % TinyModel.Items;
        Batch b = new()
        {
            Clicks = new SequenceSet(clicks.Offsets, changed, clicks.GraphPred, clicks.TopL), NotClicks = a.NotClicks,
            TargetUser = a.TargetUser, TargetItem = a.TargetItem, Label = a.Label,
            ClickSeq = a.ClickSeq, ClickStart = a.ClickStart, ClickEnd = a.ClickEnd,
            NotClickSeq = a.NotClickSeq, NotClickStart = a.NotClickStart, NotClickEnd = a.NotClickEnd,
        };
        var (ga, la) = Run(c, items, p, a);
        var (gb, lb) = Run(c, items, p, b);
        Assert.That(lb, Is.EqualTo(la));
        Assert.That(gb, Is.EqualTo(ga));
    }

    private static (float[] Grad, float[] Logits) Run(ModelConfig c, ItemTable items, float[] p, Batch batch)
    {
        using var backend = new CpuBackend(c, items, TinyModel.Users, p, threads: 1);
        var logits = new float[batch.TargetCount];
        backend.ForwardBackward(batch, logits);
        var g = new float[backend.Layout.Size];
        backend.CopyGradientsTo(g);
        return (g, logits);
    }

    [Test]
    public void ADroppedBranchIsNeverComputed()
    {
        // Variant u drops the uninterest branch: not-click sequences with item ids far outside the table would
        // throw if anything read them.
        var (c, items, p) = Setup(Variant.U, Profile.Kuaishou);
        Batch a = TinyModel.Batch();
        SequenceSet nc = a.NotClicks;
        Batch b = new()
        {
            Clicks = a.Clicks, NotClicks = new SequenceSet(nc.Offsets, nc.Items.Select(_ => 1_000_000).ToArray(), nc.GraphPred, nc.TopL),
            TargetUser = a.TargetUser, TargetItem = a.TargetItem, Label = a.Label,
            ClickSeq = a.ClickSeq, ClickStart = a.ClickStart, ClickEnd = a.ClickEnd,
            NotClickSeq = a.NotClickSeq, NotClickStart = a.NotClickStart, NotClickEnd = a.NotClickEnd,
        };
        Assert.That(Run(c, items, p, b), Is.EqualTo(Run(c, items, p, a)));
        Assert.That(ModelLayout.Create(c, TinyModel.Users, 0).Slots.Any(s => s.Name.StartsWith("notclick")), Is.False);
    }

    [Test]
    public void SharedPrefixEqualsWindowMode()
    {
        // SPEC D12: a target attending over [0, e) of a shared causal pass = the same target re-encoding its own
        // e-item sequence.
        var (c, items, p) = Setup(Variant.Alpine, Profile.Kuaishou);
        Batch shared = TinyModel.Batch();
        int n = shared.TargetCount;
        SequenceSet Own(SequenceSet seqs, int[] seq, int[] end)
        {
            int[] lens = Enumerable.Range(0, n).Select(t => end[t]).ToArray();
            int[] offsets = new int[n + 1];
            for (int t = 0; t < n; t++) offsets[t + 1] = offsets[t] + lens[t];
            var itemsOut = new List<int>();
            var pred = new List<int>();
            for (int t = 0; t < n; t++)
            {
                int o = seqs.Offsets[seq[t]];
                itemsOut.AddRange(seqs.Items.Skip(o).Take(lens[t]));
                pred.AddRange(seqs.GraphPred.Skip(o * seqs.TopL).Take(lens[t] * seqs.TopL));
            }
            return new SequenceSet(offsets, [.. itemsOut], [.. pred], seqs.TopL);
        }
        int[] own = Enumerable.Range(0, n).ToArray();
        Batch window = new()
        {
            Clicks = Own(shared.Clicks, shared.ClickSeq, shared.ClickEnd), NotClicks = Own(shared.NotClicks, shared.NotClickSeq, shared.NotClickEnd),
            TargetUser = shared.TargetUser, TargetItem = shared.TargetItem, Label = shared.Label,
            ClickSeq = own, ClickStart = shared.ClickStart, ClickEnd = shared.ClickEnd,
            NotClickSeq = own, NotClickStart = shared.NotClickStart, NotClickEnd = shared.NotClickEnd,
        };
        var (gs, ls) = Run(c, items, p, shared);
        var (gw, lw) = Run(c, items, p, window);
        Assert.That(lw, Is.EqualTo(ls).Within(1e-6f));
        GradCheck.AssertClose("SharedPrefix vs Window gradient", TinyModel.ToDouble(gs), TinyModel.ToDouble(gw), tolerance: 1e-4, floor: 1e-4);
    }

    [Test]
    public void StateRoundTripsAndSizesAreChecked()
    {
        var (c, items, p) = Setup();
        using var backend = new CpuBackend(c, items, TinyModel.Users, p);
        int size = backend.Layout.Size;
        float[] m = Enumerable.Range(0, size).Select(i => i * 0.5f).ToArray(), v = Enumerable.Range(0, size).Select(i => i * 0.25f).ToArray();
        backend.LoadOptimizerState(m, v);
        float[] m2 = new float[size], v2 = new float[size];
        backend.CopyOptimizerStateTo(m2, v2);
        Assert.That((m2, v2), Is.EqualTo((m, v)));
        Assert.Throws<ArgumentException>(() => backend.LoadParameters(new float[size - 1]));
        Assert.Throws<ArgumentException>(() => new CpuBackend(c, items, TinyModel.Users, new float[size + 1]));
        var noCategories = new ItemTable(items.Visual, items.VisualDim, null, items.CategoryCount);
        Assert.That(() => new CpuBackend(c, noCategories, TinyModel.Users, p), Throws.ArgumentException.With.Message.Contains("categories"));
        var logits = new float[7];
        backend.ForwardBackward(TinyModel.Batch(), logits);
        backend.ZeroGradients();
        var g = new float[size];
        backend.CopyGradientsTo(g);
        Assert.That(g, Is.All.Zero);
    }
}
