using Alpine.Model;

namespace Alpine.Tests.Model;

[TestFixture]
public class LossTests
{
    [Test, Category("GradCheck")]
    public void FusionAndBceBackwardMatchFiniteDifferences()
    {
        double[] heads = [0.3, -2, 4, 1.5, 0.1, -0.7, 2, 2, -3]; // (K=3, B=3)
        double[] alphas = [0.58, 0.18, 0.24];
        float[] labels = [1, 0, 1];
        double LossOf(double[] _)
        {
            var y = new double[3];
            Loss.FusionForward<double>(y, heads, alphas);
            return Loss.BceForward<double>(y, labels);
        }
        var logits = new double[3];
        Loss.FusionForward<double>(logits, heads, alphas);
        var dlogits = new double[3];
        var dheads = new double[9];
        Loss.BceBackward<double>(dlogits, logits, labels);
        Loss.FusionBackward<double>(dheads, dlogits, alphas);
        GradCheck.Check("dheads", heads, LossOf, dheads);
    }

    [Test]
    public void BceIsStableAndMatchesTheTextbookForm()
    {
        float[] logits = [0.5f, -1.25f];
        float[] labels = [1, 0];
        double expected = (-Math.Log(1 / (1 + Math.Exp(-0.5))) - Math.Log(1 - 1 / (1 + Math.Exp(1.25)))) / 2;
        Assert.That(Loss.BceForward<float>(logits, labels), Is.EqualTo(expected).Within(1e-7));
        // Far logits: the naive log(σ) overflows to ∞ / NaN, the stable form gives |ŷ| for a wrong label.
        Assert.That(Loss.BceForward<float>([-1000f], [1f]), Is.EqualTo(1000.0).Within(1e-9));
        Assert.That(Loss.BceForward<float>([1000f], [1f]), Is.EqualTo(0.0).Within(1e-12));
        var d = new float[2];
        Loss.BceBackward<float>(d, [1000f, -1000f], [0f, 1f]);
        Assert.That(d, Is.EqualTo(new[] { 0.5f, -0.5f }));
    }

    [Test]
    public void L2AppliesToWeightAndRecurrentTensorsOnly()
    {
        var layout = new ParameterLayout();
        layout.Add("w", 1, 2, TensorKind.Weight);
        layout.Add("r", 1, 1, TensorKind.Recurrent);
        layout.Add("b", 1, 2, TensorKind.Bias);
        layout.Add("e", 1, 2, TensorKind.Embedding);
        var p = new double[layout.Size];
        layout["w"].Of(p).Fill(2);
        layout["r"].Of(p).Fill(3);
        layout["b"].Of(p).Fill(5);
        layout["e"].Of(p).Fill(7);
        // ½·λ·(2² + 2² + 3²)
        Assert.That(Loss.L2Forward<double>(layout, p, 0.1f), Is.EqualTo(0.5 * 0.1f * 17).Within(1e-12));
        var g = new double[layout.Size];
        Loss.L2Backward<double>(g, layout, p, 0.1f);
        GradCheck.Check("dL2", p, _ => Loss.L2Forward<double>(layout, p, 0.1f), g, tolerance: 1e-7);
        Assert.That(layout["b"].Of(g).ToArray().Concat(layout["e"].Of(g).ToArray()), Is.All.EqualTo(0.0));
        Assert.That(layout["w"].Of(g).ToArray(), Is.All.EqualTo(0.1 * 2).Within(1e-8));
    }
}
