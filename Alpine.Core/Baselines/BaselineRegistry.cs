using Alpine.Data;

namespace Alpine.Baselines;

/// <summary>The baselines of the paper's Table 2 by their command-line names (docs/BASELINES.md).</summary>
public static class BaselineRegistry
{
    private static readonly (string Name, Func<IRankingModel> Create)[] All =
    [
        ("bpr", () => new BaselineModel("bpr", BaselineLoss.Pairwise, d => new Bpr(d.Items, d.UserCount))),
        ("ncf", () => new BaselineModel("ncf", BaselineLoss.Pointwise, d => new Ncf(d.Items, d.UserCount))),
        ("din", () => new BaselineModel("din", BaselineLoss.Pointwise, d => new Din(d.Items, d.UserCount))),
        ("lstm_r", () => new BaselineModel("lstm_r", BaselineLoss.Pointwise, d => new LstmR(d.Items))),
        ("cnn_r", () => new BaselineModel("cnn_r", BaselineLoss.Pointwise, d => new CnnR(d.Items))),
        ("atrank", () => new BaselineModel("atrank", BaselineLoss.Pointwise, d => new Atrank(d.Items))),
        ("thacil", () => new BaselineModel("thacil", BaselineLoss.Pointwise, d => new Thacil(d.Items))),
    ];

    /// <summary>Every baseline name, in Table 2's order.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(b => b.Name).ToArray();

    public static bool Contains(string name) => All.Any(b => b.Name == name);

    /// <summary>A new, untrained model; an unknown name is a <see cref="UsageException"/> listing the known ones.</summary>
    public static IRankingModel Create(string name)
    {
        foreach (var b in All) if (b.Name == name) return b.Create();
        throw new UsageException($"unknown baseline '{name}'; expected one of {string.Join(", ", Names)}");
    }
}
