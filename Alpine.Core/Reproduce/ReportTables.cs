using System.Globalization;
using System.Text;
using Alpine.Data;

namespace Alpine.Reproduce;

/// <summary>
/// The report's tables, as Markdown (to read) and CSV (to process): <c>table2</c> (every model, the paper's Table 2
/// style), <c>table3</c> (the ALPINE variants, Table 3) and <c>neighbours</c> (ALPINE against L, Fig. 6's data).
/// Our columns are test metrics, mean ± sd over seeds; the paper's columns are the paper's own numbers on its
/// data, labelled so, never ours.
/// </summary>
public static class ReportTables
{
    /// <summary>A Markdown table and its CSV.</summary>
    public sealed record Table(string Markdown, string Csv);

    private static readonly string[] MetricNames = ["AUC_user", "AUC_global", "gAUC", "P@50", "R@50", "F@50", "LogLoss"];

    /// <summary>
    /// Rows of <paramref name="rows"/> under a title and a protocol line (<paramref name="about"/>), with the
    /// paired tests against ALPINE and the paper's numbers for <paramref name="profile"/>.
    /// </summary>
    public static Table Models(string title, string about, IReadOnlyList<ModelSummary> rows, Profile profile)
    {
        string paper = $"paper's data ({PaperNumbers.DatasetOf(profile)}, not this data)";
        var md = new StringBuilder();
        md.AppendLine($"# {title}").AppendLine().AppendLine(about).AppendLine();
        md.AppendLine("Our columns: test part, mean ± sd over seeds. \"ALPINE − model\": the mean over users of the difference of " +
            "per-user test AUC (each user's AUC averaged over seeds), with the two-sided p of a paired t-test and of the Wilcoxon " +
            $"signed-rank test over those users. The last four columns are the {paper}: the paper's Table 2/3 numbers, for reference only.");
        md.AppendLine();
        md.AppendLine($"| model | seeds | {string.Join(" | ", MetricNames)} | ALPINE − model (users) | p, t-test | p, Wilcoxon | " +
            $"{paper}: AUC | P@50 | R@50 | F@50 |");
        md.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---:|", MetricNames.Length + 3 + 4)));
        var csv = new StringBuilder();
        csv.AppendLine("model,seeds," + string.Join(",", MetricNames.Select(Column).SelectMany(c => new[] { c + "_mean", c + "_sd" })) +
            ",alpine_minus_model,paired_users,p_ttest,p_wilcoxon,paper_dataset,paper_auc,paper_p50,paper_r50,paper_f50");
        foreach (var r in rows)
        {
            Stat[] stats = [r.AucUser, r.AucGlobal, r.GAuc, r.P50, r.R50, r.F50, r.LogLoss];
            var p = PaperNumbers.Of(r.Model, profile);
            double[] paperRow = p is { } x ? [x.Auc, x.P50, x.R50, x.F50] : [double.NaN, double.NaN, double.NaN, double.NaN];
            string seeds = string.Join(" ", r.Seeds);
            var vs = r.VsAlpine;
            md.AppendLine($"| {ModelCatalog.Display(r.Model)} | {seeds} | {string.Join(" | ", stats.Select(Md))} | " +
                (vs is { } v ? $"{Signed(v.MeanDifference)} ({v.Pairs}) | {P(v.TTestP)} | {P(v.WilcoxonP)}" : "— | — | —") +
                $" | {string.Join(" | ", paperRow.Select(x => double.IsNaN(x) ? "—" : x.ToString("F3", CultureInfo.InvariantCulture)))} |");
            csv.AppendLine(string.Join(",", [ModelCatalog.Display(r.Model), seeds, .. stats.SelectMany(s => new[] { N(s.Mean), N(s.Sd) }),
                N(vs?.MeanDifference ?? double.NaN), vs?.Pairs.ToString(CultureInfo.InvariantCulture) ?? "", N(vs?.TTestP ?? double.NaN), N(vs?.WilcoxonP ?? double.NaN),
                PaperNumbers.DatasetOf(profile), .. paperRow.Select(N)]));
        }
        return new Table(md.ToString(), csv.ToString());
    }

    /// <summary>ALPINE's test metrics at each neighbour count L (mean ± sd over seeds): the data of Fig. 6.</summary>
    public static Table Neighbours(string about, IReadOnlyList<(int TopL, ModelSummary Summary)> rows)
    {
        var md = new StringBuilder();
        md.AppendLine("# ALPINE against the graph neighbour count L (the paper's Fig. 6)").AppendLine().AppendLine(about).AppendLine();
        md.AppendLine($"| L | seeds | {string.Join(" | ", MetricNames)} |");
        md.AppendLine("|---:|---|" + string.Concat(Enumerable.Repeat("---:|", MetricNames.Length)));
        var csv = new StringBuilder();
        csv.AppendLine("top_l,seeds," + string.Join(",", MetricNames.Select(Column).SelectMany(c => new[] { c + "_mean", c + "_sd" })));
        foreach (var (l, r) in rows)
        {
            Stat[] stats = [r.AucUser, r.AucGlobal, r.GAuc, r.P50, r.R50, r.F50, r.LogLoss];
            string seeds = string.Join(" ", r.Seeds);
            md.AppendLine($"| {l} | {seeds} | {string.Join(" | ", stats.Select(Md))} |");
            csv.AppendLine(string.Join(",", [l.ToString(CultureInfo.InvariantCulture), seeds, .. stats.SelectMany(s => new[] { N(s.Mean), N(s.Sd) })]));
        }
        return new Table(md.ToString(), csv.ToString());
    }

    private static string Column(string metric) => metric.ToLowerInvariant().Replace("@", "_at_");

    private static string Md(Stat s) =>
        double.IsNaN(s.Mean) ? "n/a" : double.IsNaN(s.Sd) ? F(s.Mean) : $"{F(s.Mean)} ± {F(s.Sd)}";

    private static string F(double x) => x.ToString("F4", CultureInfo.InvariantCulture);

    private static string Signed(double x) => double.IsNaN(x) ? "n/a" : x.ToString("+0.0000;−0.0000;0.0000", CultureInfo.InvariantCulture);

    /// <summary>A p-value: 3 significant digits, "&lt; 1e-300" where a double cannot say more.</summary>
    private static string P(double p) => double.IsNaN(p) ? "n/a" : p == 0 ? "< 1e-300" : p.ToString("G3", CultureInfo.InvariantCulture);

    /// <summary>A CSV number: round-trip precision, empty for NaN.</summary>
    private static string N(double x) => double.IsNaN(x) ? "" : x.ToString("R", CultureInfo.InvariantCulture);
}
