using Alpine.Baselines;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Reproduce;

namespace Alpine.Cli;

/// <summary>
/// Writes a finished reproduction's tables (<see cref="ReportTables"/>) and figures (<see cref="ReportFigures"/>)
/// into the report folder, each file atomically. A figure that cannot be drawn (no usable font, say) is a warning:
/// the tables and runs stay.
/// </summary>
internal static class ReportWriter
{
    /// <summary>The variants in the paper's Table 3 order.</summary>
    private static readonly string[] Table3Order = ["alpine_u", "alpine_m", "alpine_um", "alpine_umg", ModelCatalog.Alpine];

    /// <summary>Writes every table and figure the results allow; returns the names written.</summary>
    public static IReadOnlyList<string> Write(string report, string dataDir, PreparedData data, ReproducePlan plan, IReadOnlyList<RunResult> results)
    {
        var written = new List<string>();
        void Save(string name, ReportTables.Table t)
        {
            AtomicFile.WriteAllText(Path.Combine(report, name + ".md"), t.Markdown);
            AtomicFile.WriteAllText(Path.Combine(report, name + ".csv"), t.Csv);
            written.Add(name + ".md/.csv");
        }
        void Draw(string name, Func<byte[]?> render)
        {
            string path = Path.Combine(report, name);
            try
            {
                if (render() is not { } png) return;
                AtomicFile.WriteAllBytes(path, png);
                written.Add(name);
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
            {
                Console.Error.WriteLine($"alpine reproduce: warning: could not draw {path}: {e.Message}");
            }
        }

        string about = About(dataDir, data, plan);
        var main = ModelSummary.Of(results, plan.Models, data.TopL);
        Save(ReportFolder.Table2, ReportTables.Models($"Table 2 style: every model on {dataDir}", about, main, data.Profile));
        var variants = ModelSummary.Of(results, Table3Order.Where(plan.Models.Contains), data.TopL);
        if (variants.Count > 0)
            Save(ReportFolder.Table3, ReportTables.Models($"Table 3 style: the ALPINE variants on {dataDir}", about, variants, data.Profile));
        var sweep = Enumerable.Range(1, plan.SweepMax).Append(data.TopL).Distinct().Order()
            .Select(l => (TopL: l, Summary: ModelSummary.Of(results, [ModelCatalog.Alpine], l).SingleOrDefault()))
            .Where(x => x.Summary is not null).Select(x => (x.TopL, x.Summary!)).ToArray();
        if (sweep.Length > 0) Save(ReportFolder.Neighbours, ReportTables.Neighbours(about, sweep));

        Draw(ReportFolder.Fig5, () => main.Count > 0 ? ReportFigures.PrfAtK(main) : null);
        Draw(ReportFolder.Fig6, () => sweep.Length > 0 ? ReportFigures.Neighbours(sweep) : null);
        Draw(ReportFolder.Curves, () => ReportFigures.LearningCurves([.. results.Where(r => r.Seed == 1 && r.TopL == data.TopL)]));
        Draw(ReportFolder.Fig7, () => Attention(report, data, plan));
        return written;
    }

    /// <summary>The protocol line every table starts with.</summary>
    private static string About(string dataDir, PreparedData data, ReproducePlan plan)
    {
        var o = plan.Options;
        string fingerprint = data.Fingerprint[..Math.Min(12, data.Fingerprint.Length)];
        return FormattableString.Invariant(
            $"Data: `{dataDir}` ({data.Profile} profile, {data.UserCount:N0} users, {data.ImpressionCount:N0} impressions, prepared with `{data.Options.Flags()}`, source fingerprint {fingerprint}). ") +
            FormattableString.Invariant(
            $"Each run: at most {o.Epochs} epochs, early stop after {o.Patience} validation round{(o.Patience == 1 ? "" : "s")} without a gain of {o.MinDelta:G3} in AUC_user, batch {o.BatchSize}, Adam lr {o.LearningRate:G3}; ") +
            "the round with the best validation AUC_user is kept (SPEC D1) and the test part is scored once, " +
            "after training. Written by `alpine reproduce`.";
    }

    /// <summary>Fig. 7 from ALPINE's seed-1 model, when that run is in the plan.</summary>
    private static byte[]? Attention(string report, PreparedData data, ReproducePlan plan)
    {
        if (!plan.Models.Contains(ModelCatalog.Alpine)) return null;
        var run = new RunSpec(ModelCatalog.Alpine, 1, data.TopL);
        var model = AlpineRankingModel.Load(Reproduction.RunDir(report, run), data, plan.Options.Threads);
        return ReportFigures.Attention(model, data);
    }
}
