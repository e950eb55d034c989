using Alpine.Data;
using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Cpu;

/// <summary>The whole model's gradient against float64 central differences, for every option (SPEC D5, D7, D10).</summary>
[TestFixture]
public class CpuModelGradientTests
{
    /// <summary>Every variant × profile × attention × c* reading, and top-L 2. The fast loop (not <c>Slow</c>) keeps
    /// the full model in both profiles with opposite options, the plain LSTM, and top-L 2.</summary>
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (Variant v in Enum.GetValues<Variant>())
            foreach (Profile p in Enum.GetValues<Profile>())
                foreach (AttentionKind a in Enum.GetValues<AttentionKind>())
                    foreach (CStarReading c in v == Variant.UMG ? [CStarReading.Neighbor] : Enum.GetValues<CStarReading>())
                    {
                        var data = new TestCaseData(v, p, a, c, 1).SetName($"{v}_{p}_{a}_{c}");
                        bool fast = (v, p, a, c) is
                            (Variant.Alpine, Profile.Kuaishou, AttentionKind.Bilinear, CStarReading.Neighbor) or
                            (Variant.Alpine, Profile.Thacil, AttentionKind.ScaledDot, CStarReading.Carried) or
                            (Variant.UMG, Profile.Kuaishou, AttentionKind.Bilinear, _);
                        yield return fast ? data : data.SetCategory("Slow");
                    }
        yield return new TestCaseData(Variant.Alpine, Profile.Kuaishou, AttentionKind.Bilinear, CStarReading.Neighbor, 2).SetName("Alpine_TopL2_Neighbor").SetCategory("Slow");
        yield return new TestCaseData(Variant.Alpine, Profile.Thacil, AttentionKind.Bilinear, CStarReading.Carried, 2).SetName("Alpine_TopL2_Carried");
    }

    [Test, Category("GradCheck"), TestCaseSource(nameof(Cases))]
    public void WholeModelGradientMatchesFiniteDifferences(Variant variant, Profile profile, AttentionKind attention, CStarReading cstar, int topL)
    {
        ModelConfig c = TinyModel.Config(variant, cstar, attention, profile, topL);
        ItemTable items = TinyModel.ItemTable(c);
        var model = ModelLayout.Of(c, TinyModel.Users, TinyModel.Categories);
        ParameterLayout layout = model.Parameters;
        double[] p = TinyModel.ToDouble(TinyModel.Parameters(c, layout, items));
        Batch batch = TinyModel.Batch(topL);
        var cpu = new CpuModel<double>(c, model, items, threads: 1);
        var logits = new double[batch.TargetCount];
        var g = new double[layout.Size];
        cpu.ForwardBackward(batch, p, g, logits);

        double LossOf(double[] _)
        {
            cpu.Forward(batch, p, logits);
            return cpu.LossOf(batch, p);
        }
        foreach (TensorSlot s in layout.Slots)
            GradCheck.Check(s.Name, p, s.Offset, s.Size, LossOf, g.AsSpan(s.Offset, s.Size), tolerance: 1e-5);
        if (profile == Profile.Thacil)
            Assert.That(layout[ModelLayout.CategoryName].Of(g).ToArray(), Has.Some.Not.EqualTo(0.0), "the category embedding is trained");
    }

    [Test]
    public void FloatGradientFollowsTheDoubleOne()
    {
        ModelConfig c = TinyModel.Config(Variant.Alpine, profile: Profile.Thacil);
        ItemTable items = TinyModel.ItemTable(c);
        var model = ModelLayout.Of(c, TinyModel.Users, TinyModel.Categories);
        ParameterLayout layout = model.Parameters;
        float[] p = TinyModel.Parameters(c, layout, items);
        Batch batch = TinyModel.Batch();
        var gd = new double[layout.Size];
        double lossD = new CpuModel<double>(c, model, items).ForwardBackward(batch, TinyModel.ToDouble(p), gd, new double[batch.TargetCount]);
        using var backend = new CpuBackend(c, items, TinyModel.Users, p);
        float lossF = backend.ForwardBackward(batch, new float[batch.TargetCount]);
        var gf = new float[layout.Size];
        backend.CopyGradientsTo(gf);
        Assert.That(lossF, Is.EqualTo(lossD).Within(1e-5 * Math.Abs(lossD)));
        GradCheck.AssertClose("float vs double gradient", TinyModel.ToDouble(gf), gd, tolerance: 1e-3, floor: 1e-3);
    }
}
