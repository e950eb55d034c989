using Alpine.Data;
using Alpine.Prep;

namespace Alpine.Model;

/// <summary>The tensors of one MLP head (SPEC D8) over a (B, <see cref="Inputs"/>) input whose columns
/// [<see cref="XNewColumn"/>, +D) are x_new.</summary>
public sealed record HeadTensors(TensorSlot W1, TensorSlot B1, TensorSlot W2, TensorSlot B2, int Inputs, int XNewColumn);

/// <summary>
/// One sequence branch (SPEC D7, D8): the interest (click) or uninterest (not-click) graph-LSTM, its attention
/// weight (bilinear only) and its head on [f ; x_new]; <see cref="Head"/> is its row of the (K, B) head logits.
/// </summary>
public sealed record BranchTensors(bool Clicks, int Head, TensorSlot Wx, TensorSlot Wh, TensorSlot? Wg, TensorSlot B, TensorSlot? Wa, HeadTensors Mlp);

/// <summary>
/// The one model description both backends consume (STYLE.md: llm.c's ParameterTensors): the size table that
/// carves the flat buffer (<see cref="Parameters"/>), and the typed slots of every tensor in it, so no backend
/// looks a tensor up by name. A branch that the variant drops (SPEC D10) gets no tensors at all.
/// </summary>
public sealed class ModelLayout
{
    /// <summary>Names of the two sequence branches and the user branch; their tensors are prefixed by them.</summary>
    public const string Click = "click", NotClick = "notclick", User = "user";
    /// <summary>The names of the user matrix and the category embedding in the size table (and so in model files).</summary>
    public const string UserMatrixName = $"{User}.U", CategoryName = "item.category";

    private ModelLayout(ParameterLayout parameters, BranchTensors[] branches, TensorSlot? userMatrix, HeadTensors? userHead,
        TensorSlot? category, float[] alphas)
    {
        (Parameters, Branches, UserMatrix, UserHead, Category, Alphas) = (parameters, branches, userMatrix, userHead, category, alphas);
    }

    public ParameterLayout Parameters { get; }
    /// <summary>The LSTM branches the variant computes, in layout (and head) order.</summary>
    public IReadOnlyList<BranchTensors> Branches { get; }
    /// <summary>U (users, D) and the multi-level head on [U[user] ; x_new], when the variant uses them (SPEC D9).</summary>
    public TensorSlot? UserMatrix { get; }
    public HeadTensors? UserHead { get; }
    /// <summary>The thacil profile's category embedding (categories, Dc): the trained part of x.</summary>
    public TensorSlot? Category { get; }
    /// <summary>(K) fusion weights of the computed heads, in head order: the branches, then the user head (SPEC D10).</summary>
    public float[] Alphas { get; }
    /// <summary>K, the computed heads; the user head, when there is one, is the last.</summary>
    public int Heads => Alphas.Length;
    /// <summary>Whether x carries trained parameters (thacil's category embedding), so its gradient is needed.</summary>
    public bool TrainsX => Category != null;

    /// <summary>Gate rows per hidden unit of an LSTM's input projection: 8 with the graph path (SPEC Eq. 2), 4 without (umg).</summary>
    public static int Gates(bool useGraph) => useGraph ? 8 : 4;

    /// <summary>The size table of <see cref="Of"/>, for callers that only carve or size the flat buffer.</summary>
    public static ParameterLayout Create(ModelConfig c, int userCount, int categoryCount) => Of(c, userCount, categoryCount).Parameters;

    /// <summary>
    /// The layout a backend runs for <paramref name="items"/> and <paramref name="userCount"/> users, after checking
    /// that the item table carries what the profile reads and that <paramref name="initialParameters"/> fits it.
    /// </summary>
    public static ModelLayout ForBackend(ModelConfig config, ItemTable items, int userCount, ReadOnlySpan<float> initialParameters)
    {
        if (config.Profile == Profile.Thacil && items.Category == null)
            throw new ArgumentException("the thacil profile needs item categories, and the item table has none", nameof(items));
        ModelLayout model = Of(config, userCount, items.CategoryCount);
        if (initialParameters.Length != model.Parameters.Size)
            throw new ArgumentException($"expected {model.Parameters.Size} parameters for this configuration, got {initialParameters.Length}", nameof(initialParameters));
        return model;
    }

    /// <summary>
    /// Per LSTM branch (click; notclick when the uninterest branch is used):
    /// <c>{p}.Wx [G·H, D]</c>, <c>{p}.Wh [4H, H]</c>, <c>{p}.Wg [4H, H]</c> (graph only), <c>{p}.b [G·H]</c>,
    /// <c>{p}.attn.W [H, D]</c> (bilinear only, SPEC D7), <c>{p}.mlp.W1 [M, H+D]</c>, <c>{p}.mlp.b1 [M]</c>,
    /// <c>{p}.mlp.W2 [1, M]</c>, <c>{p}.mlp.b2 [1]</c> (SPEC D8); then <c>user.U [N, D]</c> and the user head
    /// <c>user.mlp.* </c> with <c>W1 [M, 2D]</c> when the multi-level branch is used (SPEC D9); then
    /// <c>item.category [C, CategoryDim]</c> for the thacil profile.
    /// </summary>
    public static ModelLayout Of(ModelConfig c, int userCount, int categoryCount)
    {
        int d = c.ItemDim, h = c.HiddenSize, m = c.MlpHidden, g = Gates(c.UsesGraph);
        float[] a = c.EffectiveAlphas;
        var layout = new ParameterLayout();
        var alphas = new List<float>();
        var branches = new List<BranchTensors>();
        foreach (string p in c.UsesUninterest ? new[] { Click, NotClick } : [Click])
        {
            TensorSlot wx = layout.Add($"{p}.Wx", g * h, d, TensorKind.Weight);
            TensorSlot wh = layout.Add($"{p}.Wh", 4 * h, h, TensorKind.Recurrent);
            TensorSlot? wg = c.UsesGraph ? layout.Add($"{p}.Wg", 4 * h, h, TensorKind.Recurrent) : null;
            TensorSlot b = layout.Add($"{p}.b", 1, g * h, TensorKind.Bias);
            TensorSlot? wa = c.Attention == AttentionKind.Bilinear ? layout.Add($"{p}.attn.W", h, d, TensorKind.Weight) : null;
            HeadTensors head = AddHead(layout, p, m, inputs: h + d, xNewColumn: h);
            branches.Add(new BranchTensors(p == Click, branches.Count, wx, wh, wg, b, wa, head));
            alphas.Add(a[branches.Count - 1]);
        }
        TensorSlot? userMatrix = null;
        HeadTensors? userHead = null;
        if (c.UsesUserMatrix)
        {
            userMatrix = layout.Add(UserMatrixName, userCount, d, TensorKind.Embedding);
            userHead = AddHead(layout, User, m, inputs: 2 * d, xNewColumn: d);
            alphas.Add(a[2]);
        }
        TensorSlot? category = c.Profile == Profile.Thacil ? layout.Add(CategoryName, categoryCount, c.CategoryDim, TensorKind.Embedding) : null;
        return new ModelLayout(layout, [.. branches], userMatrix, userHead, category, [.. alphas]);
    }

    private static HeadTensors AddHead(ParameterLayout layout, string p, int m, int inputs, int xNewColumn) => new(
        layout.Add($"{p}.mlp.W1", m, inputs, TensorKind.Weight), layout.Add($"{p}.mlp.b1", 1, m, TensorKind.Bias),
        layout.Add($"{p}.mlp.W2", 1, m, TensorKind.Weight), layout.Add($"{p}.mlp.b2", 1, 1, TensorKind.Bias), inputs, xNewColumn);
}
