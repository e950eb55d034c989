using Alpine.Data;
using Alpine.Model;

namespace Alpine.Tests.Model;

[TestFixture]
public class ModelLayoutTests
{
    private static ModelConfig Config(Variant v, Profile p = Profile.Kuaishou, AttentionKind a = AttentionKind.Bilinear) => new()
    {
        Variant = v, Profile = p, Attention = a, VisualDim = 6, CategoryDim = 4, Hidden = a == AttentionKind.ScaledDot ? 0 : 7, MlpHidden = 3,
        Alphas = [0.5f, 0.3f, 0.2f],
    };

    [Test]
    public void AlpineHasEveryBranchWithTheSpecShapes()
    {
        ParameterLayout l = ModelLayout.Create(Config(Variant.Alpine), userCount: 11, categoryCount: 0);
        (int, int) Shape(string n) => (l[n].Rows, l[n].Cols);
        foreach (string p in new[] { "click", "notclick" })
        {
            Assert.That(Shape($"{p}.Wx"), Is.EqualTo((8 * 7, 6)));
            Assert.That(Shape($"{p}.Wh"), Is.EqualTo((4 * 7, 7)));
            Assert.That(Shape($"{p}.Wg"), Is.EqualTo((4 * 7, 7)));
            Assert.That(l[$"{p}.b"].Size, Is.EqualTo(8 * 7));
            Assert.That(Shape($"{p}.attn.W"), Is.EqualTo((7, 6)));
            Assert.That(Shape($"{p}.mlp.W1"), Is.EqualTo((3, 7 + 6)));
            Assert.That(l[$"{p}.mlp.b1"].Size, Is.EqualTo(3));
            Assert.That(Shape($"{p}.mlp.W2"), Is.EqualTo((1, 3)));
            Assert.That(l[$"{p}.mlp.b2"].Size, Is.EqualTo(1));
        }
        Assert.That(Shape("user.U"), Is.EqualTo((11, 6)));
        Assert.That(l["user.U"].Kind, Is.EqualTo(TensorKind.Embedding));
        Assert.That(Shape("user.mlp.W1"), Is.EqualTo((3, 12)));
        Assert.That(l.Contains("item.category"), Is.False);
        // Slots never overlap and are 16-float aligned.
        var slots = l.Slots.OrderBy(s => s.Offset).ToArray();
        for (int i = 1; i < slots.Length; i++) Assert.That(slots[i].Offset, Is.GreaterThanOrEqualTo(slots[i - 1].Offset + slots[i - 1].Size));
        Assert.That(slots.Select(s => s.Offset % 16), Is.All.Zero);
    }

    [TestCase(Variant.U, false, true, true)]
    [TestCase(Variant.M, true, false, true)]
    [TestCase(Variant.UM, false, false, true)]
    [TestCase(Variant.UMG, false, false, false)]
    public void DroppedBranchesHaveNoTensors(Variant v, bool uninterest, bool userMatrix, bool graph)
    {
        ParameterLayout l = ModelLayout.Create(Config(v), 11, 0);
        Assert.That(l.Slots.Any(s => s.Name.StartsWith("notclick.")), Is.EqualTo(uninterest));
        Assert.That(l.Slots.Any(s => s.Name.StartsWith("user.")), Is.EqualTo(userMatrix));
        Assert.That(l.Slots.Any(s => s.Name.EndsWith(".Wg")), Is.EqualTo(graph));
        Assert.That(l["click.Wx"].Rows, Is.EqualTo((graph ? 8 : 4) * 7));
        Assert.That(l.Size, Is.LessThan(ModelLayout.Create(Config(Variant.Alpine), 11, 0).Size));
    }

    [Test]
    public void ThacilAddsTheCategoryEmbeddingAndScaledDotDropsTheAttentionMatrix()
    {
        ParameterLayout l = ModelLayout.Create(Config(Variant.Alpine, Profile.Thacil, AttentionKind.ScaledDot), 11, 9);
        Assert.That((l["item.category"].Rows, l["item.category"].Cols), Is.EqualTo((9, 4)));
        Assert.That(l["click.Wx"].Cols, Is.EqualTo(10), "D = category + visual dims");
        Assert.That(l.Slots.Any(s => s.Name.Contains(".attn.")), Is.False);
    }

    [TestCase(Profile.Kuaishou, 20, 20)]
    [TestCase(Profile.Kuaishou, 64, 64)]
    [TestCase(Profile.Thacil, 64, 128)]
    public void HiddenSizeIs64WhateverD(Profile profile, int visual, int d)
    {
        var c = new ModelConfig { Profile = profile, VisualDim = visual };
        Assert.That((c.ItemDim, c.HiddenSize), Is.EqualTo((d, 64)));
        ParameterLayout l = ModelLayout.Create(c, 3, 2);
        Assert.That((l["click.Wh"].Rows, l["click.Wh"].Cols), Is.EqualTo((4 * 64, 64)));
        Assert.That((c with { Hidden = 0 }).HiddenSize, Is.EqualTo(d), "0 (older model files) still means H = D");
    }

    [Test]
    public void ZeroMultiLevelWeightDropsTheUserMatrix()
    {
        // thacil's default α3 = 0 (SPEC D10): the branch is not computed, so it has no parameters either.
        ParameterLayout l = ModelLayout.Create(new ModelConfig { Profile = Profile.Thacil }, 11, 9);
        Assert.That(l.Slots.Any(s => s.Name.StartsWith("user.")), Is.False);
    }

    [TestCase(Variant.Alpine, 0f, 0f, 0f)]
    [TestCase(Variant.U, 0f, 0.5f, 0f)]    // U drops α2: nothing left
    [TestCase(Variant.UMG, 0f, 0.3f, 0.7f)] // UMG keeps only α1
    public void AFusionWithEveryUsedWeightZeroIsRefused(Variant v, float a1, float a2, float a3)
    {
        var c = new ModelConfig { Variant = v, Alphas = [a1, a2, a3], VisualDim = 8, TopL = 1 };
        Assert.That(c.Validate, Throws.TypeOf<UsageException>().With.Message.Contains("--alphas").And.Message.Contains("constant"));
        Assert.That(() => (c with { Alphas = [0.1f, a2, a3] }).Validate(), Throws.Nothing);
    }
}
