using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Model;

[TestFixture]
public class ParameterInitTests
{
    private static readonly ModelConfig Kuaishou = new() { VisualDim = 3, Hidden = 4, MlpHidden = 5, Alphas = [0.5f, 0.3f, 0.2f] };

    private static ItemTable Items(ModelConfig c) => new(
        Enumerable.Range(0, 6 * c.VisualDim).Select(i => (float)i / 10).ToArray(), c.VisualDim,
        c.Profile == Profile.Thacil ? [0, 1, 0, 1, 1, 0] : null, c.Profile == Profile.Thacil ? 2 : 0);

    // user 0 likes items 1, 2 and follows 4; user 1 has neither; user 2 only follows 0, 3.
    private static readonly LikeFollowLists Lists = new([0, 2, 2, 2], [1, 2], [0, 1, 1, 3], [4, 0, 3]);

    private static float[] Row(ItemTable items, int item, float[]? category = null) =>
        (category ?? []).Concat(items.Visual.Skip(item * items.VisualDim).Take(items.VisualDim)).ToArray();

    [Test]
    public void OneSeedGivesOneBufferAndAnotherSeedAnother()
    {
        ParameterLayout l = ModelLayout.Create(Kuaishou, 3, 0);
        float[] a = ParameterInit.Create(Kuaishou, l, Items(Kuaishou), Lists, 42);
        float[] b = ParameterInit.Create(Kuaishou, l, Items(Kuaishou), Lists, 42);
        float[] c = ParameterInit.Create(Kuaishou, l, Items(Kuaishou), Lists, 43);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(l["click.Wx"].Of(a).ToArray(), Is.Not.EqualTo(l["click.Wx"].Of(c).ToArray()));
        Assert.That(l["click.Wx"].Of(a).ToArray(), Is.Not.EqualTo(l["notclick.Wx"].Of(a).ToArray()), "each tensor has its own stream");
        Assert.That(l["click.Wh"].Of(a).ToArray(), Is.Not.EqualTo(l["click.Wh"].Of(c).ToArray()), "recurrent matrices follow the seed");
    }

    [Test]
    public void KindsFollowSpecD11()
    {
        ParameterLayout l = ModelLayout.Create(Kuaishou, 3, 0);
        float[] p = ParameterInit.Create(Kuaishou, l, Items(Kuaishou), Lists, 7);
        // fan_out + fan_in of each weight matrix, written out for D = 3, H = 4, M = 5. Wx stacks two [4H, D] kernels
        // (sequential, graph): each is a Glorot matrix of its own, 16 + 3.
        var fans = new Dictionary<string, int>
        {
            ["click.Wx"] = 16 + 3, ["click.attn.W"] = 4 + 3, ["click.mlp.W1"] = 5 + 7, ["click.mlp.W2"] = 1 + 5,
            ["notclick.Wx"] = 16 + 3, ["notclick.attn.W"] = 4 + 3, ["notclick.mlp.W1"] = 5 + 7, ["notclick.mlp.W2"] = 1 + 5,
            ["user.mlp.W1"] = 5 + 6, ["user.mlp.W2"] = 1 + 5,
        };
        Assert.That(l.Slots.Where(s => s.Kind == TensorKind.Weight).Select(s => s.Name), Is.EquivalentTo(fans.Keys));
        foreach (TensorSlot s in l.Slots.Where(s => s.Kind == TensorKind.Weight))
        {
            float limit = MathF.Sqrt(6f / fans[s.Name]);
            Assert.That(ParameterInit.GlorotLimit(s, Kuaishou), Is.EqualTo(limit), s.Name);
            Assert.That(s.Of(p).ToArray(), Is.All.InRange(-limit, limit), s.Name);
            Assert.That(s.Of(p).ToArray().Max() - s.Of(p).ToArray().Min(), Is.GreaterThan(limit / 2), $"{s.Name} spreads over its range");
        }
        int h = 4;
        foreach (string name in new[] { "click.Wh", "click.Wg", "notclick.Wh", "notclick.Wg" })
        {
            float[] q = l[name].Of(p).ToArray();
            Assert.That(q.Length, Is.EqualTo(4 * h * h));
            for (int i = 0; i < h; i++)
                for (int j = 0; j < h; j++)
                {
                    double dot = Enumerable.Range(0, 4 * h).Sum(r => (double)q[r * h + i] * q[r * h + j]);
                    Assert.That(dot, Is.EqualTo(i == j ? 1.0 : 0.0).Within(1e-5), $"{name}: WᵀW = I over the stacked [4H, H]");
                }
            // One matrix, not four orthogonal blocks: a block alone has squared norm well under H.
            double block0 = q.Take(h * h).Sum(v => (double)v * v);
            Assert.That(block0, Is.LessThan(h - 0.5), $"{name}: the first gate block is not itself orthogonal");
        }
        float[] bias = l["click.b"].Of(p).ToArray();
        for (int i = 0; i < bias.Length; i++)
            Assert.That(bias[i], Is.EqualTo(i / h is 1 or 5 ? 1f : 0f), $"bias {i}: forget gates f and f* start at 1");
        Assert.That(l["click.mlp.b1"].Of(p).ToArray().Append(l["click.mlp.b2"].Of(p)[0]), Is.All.Zero);
    }

    [TestCase(UserInit.Mean)]
    [TestCase(UserInit.Sum)]
    public void UserMatrixStartsFromLikesAndFollows(UserInit init)
    {
        ModelConfig c = Kuaishou with { UserInit = init, LikeWeight = 0.25f, FollowWeight = 0.75f };
        ItemTable items = Items(c);
        ParameterLayout l = ModelLayout.Create(c, 4, 0);
        float[] p = ParameterInit.Create(c, l, items, Lists, 7);
        Span<float> u = l["user.U"].Of(p);
        float n = init == UserInit.Mean ? 2 : 1;
        for (int k = 0; k < 3; k++)
        {
            Assert.That(u[k], Is.EqualTo(0.25f * (Row(items, 1)[k] + Row(items, 2)[k]) / n + 0.75f * Row(items, 4)[k]).Within(1e-6f));
            Assert.That(u[6 + k], Is.EqualTo(0.75f * (Row(items, 0)[k] + Row(items, 3)[k]) / n).Within(1e-6f));
        }
        Assert.That(u.Slice(3, 3).ToArray(), Is.All.Zero, "user 1 has neither likes nor follows");
        Assert.That(u.Slice(9, 3).ToArray(), Is.All.Zero, "user 3 is beyond the lists");
    }

    [Test]
    public void ThacilUserRowsIncludeTheInitialisedCategoryEmbedding()
    {
        ModelConfig c = new() { Profile = Profile.Thacil, VisualDim = 3, CategoryDim = 2, Hidden = 4, MlpHidden = 5, Alphas = [0.5f, 0.3f, 0.2f] };
        ItemTable items = Items(c);
        ParameterLayout l = ModelLayout.Create(c, 3, 2);
        float[] p = ParameterInit.Create(c, l, items, Lists, 7);
        float[] cat = l["item.category"].Of(p).ToArray();
        Assert.That(cat, Is.All.InRange(-ParameterInit.EmbeddingScale, ParameterInit.EmbeddingScale));
        Assert.That(cat, Has.Some.Not.Zero);
        float[] x4 = Row(items, 4, cat[2..4]); // item 4 has category 1
        float[] x0 = Row(items, 0, cat[0..2]), x3 = Row(items, 3, cat[2..4]);
        Span<float> u = l["user.U"].Of(p);
        for (int k = 0; k < 5; k++)
            Assert.That(u[2 * 5 + k], Is.EqualTo(0.5f * (x0[k] + x3[k]) / 2).Within(1e-6f), $"user 2, dim {k}");
        Assert.That(u[4] - 0.5f * x4[4], Is.Not.EqualTo(0f), "user 0's row mixes likes and follows");
    }
}
