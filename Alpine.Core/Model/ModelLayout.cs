using Alpine.Data;
namespace Alpine.Model;

/// <summary>
/// The one parameter layout of the model (STYLE.md: a size table over one flat buffer), shared by the
/// CPU and GPU backends so whole parameter and gradient buffers compare directly. A branch that the
/// variant drops (SPEC D10) gets no tensors at all.
/// </summary>
public static class ModelLayout
{
    /// <summary>Names of the two sequence branches; the LSTM, attention and MLP tensors are prefixed by them.</summary>
    public const string Click = "click", NotClick = "notclick", User = "user";

    /// <summary>Gate rows per hidden unit of an LSTM's input projection: 8 with the graph path (SPEC Eq. 2), 4 without (umg).</summary>
    public static int Gates(ModelConfig c) => c.UsesGraph ? 8 : 4;

    /// <summary>
    /// Per LSTM branch (click; notclick when the uninterest branch is used):
    /// <c>{p}.Wx [G·H, D]</c>, <c>{p}.Wh [4H, H]</c>, <c>{p}.Wg [4H, H]</c> (graph only), <c>{p}.b [G·H]</c>,
    /// <c>{p}.attn.W [H, D]</c> (bilinear only, SPEC D7), <c>{p}.mlp.W1 [M, H+D]</c>, <c>{p}.mlp.b1 [M]</c>,
    /// <c>{p}.mlp.W2 [1, M]</c>, <c>{p}.mlp.b2 [1]</c> (SPEC D8); then <c>user.U [N, D]</c> and the user head
    /// <c>user.mlp.* </c> with <c>W1 [M, 2D]</c> when the multi-level branch is used (SPEC D9); then
    /// <c>item.category [C, CategoryDim]</c> for the thacil profile.
    /// </summary>
    public static ParameterLayout Create(ModelConfig c, int userCount, int categoryCount)
    {
        int d = c.ItemDim, h = c.HiddenSize, m = c.MlpHidden, g = Gates(c);
        var layout = new ParameterLayout();
        foreach (string p in SequenceBranches(c))
        {
            layout.Add($"{p}.Wx", g * h, d, TensorKind.Weight);
            layout.Add($"{p}.Wh", 4 * h, h, TensorKind.Recurrent);
            if (c.UsesGraph) layout.Add($"{p}.Wg", 4 * h, h, TensorKind.Recurrent);
            layout.Add($"{p}.b", 1, g * h, TensorKind.Bias);
            if (c.Attention == AttentionKind.Bilinear) layout.Add($"{p}.attn.W", h, d, TensorKind.Weight);
            AddHead(layout, p, m, h + d);
        }
        if (c.UsesUserMatrix)
        {
            layout.Add($"{User}.U", userCount, d, TensorKind.Embedding);
            AddHead(layout, User, m, 2 * d);
        }
        if (c.Profile == Profile.Thacil) layout.Add("item.category", categoryCount, c.CategoryDim, TensorKind.Embedding);
        return layout;
    }

    /// <summary>The LSTM branches the variant computes, in layout order.</summary>
    public static string[] SequenceBranches(ModelConfig c) => c.UsesUninterest ? [Click, NotClick] : [Click];

    private static void AddHead(ParameterLayout layout, string p, int m, int inputs)
    {
        layout.Add($"{p}.mlp.W1", m, inputs, TensorKind.Weight);
        layout.Add($"{p}.mlp.b1", 1, m, TensorKind.Bias);
        layout.Add($"{p}.mlp.W2", 1, m, TensorKind.Weight);
        layout.Add($"{p}.mlp.b2", 1, 1, TensorKind.Bias);
    }
}
