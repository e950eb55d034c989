using Alpine.Baselines;
using Alpine.Data;

namespace Alpine.Reproduce;

/// <summary>
/// Every model <c>alpine reproduce</c> can train, by its command-line name: the ALPINE variants (Table 3) and the
/// baselines (Table 2, <c>docs/BASELINES.md</c>), with the names the tables print.
/// </summary>
public static class ModelCatalog
{
    /// <summary>The reference model of the paired tests and the neighbour sweep.</summary>
    public const string Alpine = "alpine";

    /// <summary>Every name: the variants (ALPINE first), then the baselines.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. AlpineRankingModel.Variants.Select(v => v.Name), .. BaselineRegistry.Names];

    /// <summary>The ALPINE variants among <see cref="Names"/> (Table 3's rows).</summary>
    public static bool IsVariant(string name) => AlpineRankingModel.Variants.Any(v => v.Name == name);

    /// <summary>
    /// Checks a <c>--models</c> list: known names, none twice. An unknown name is a <see cref="UsageException"/>
    /// listing the known ones.
    /// </summary>
    public static IReadOnlyList<string> Parse(string list)
    {
        var names = list.Split(',').Select(s => s.Trim().ToLowerInvariant()).ToArray();
        foreach (string n in names)
            if (!Names.Contains(n))
                throw new UsageException($"option --models: unknown model '{n}'; expected names from {string.Join(", ", Names)}, separated by commas");
        var twice = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new UsageException($"option --models names '{twice.Key}' twice");
        return names;
    }

    /// <summary>A new, untrained model; <paramref name="workDir"/> is a folder of its own for any files it keeps (the baselines keep none).</summary>
    public static IRankingModel Create(string name, string workDir)
    {
        var variant = AlpineRankingModel.Variants.FirstOrDefault(v => v.Name == name);
        if (variant.Name is not null) return new AlpineRankingModel(variant.Variant, workDir);
        return BaselineRegistry.Contains(name)
            ? BaselineRegistry.Create(name)
            : throw new UsageException($"unknown model '{name}'; expected one of {string.Join(", ", Names)}");
    }

    /// <summary>How the tables print a model: ALPINE, ALPINE_u, …, BPR, NCF, LSTM-R, ….</summary>
    public static string Display(string name) => name switch
    {
        _ when name.StartsWith("alpine", StringComparison.Ordinal) => "ALPINE" + name["alpine".Length..],
        "lstm_r" => "LSTM-R",
        "cnn_r" => "CNN-R",
        "atrank" => "ATRank",
        "thacil" => "THACIL",
        _ => name.ToUpperInvariant(),
    };
}
