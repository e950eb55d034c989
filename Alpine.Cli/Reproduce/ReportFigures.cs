using Alpine.Prep;
using Alpine.Reproduce;
using ScottPlot;

namespace Alpine.Cli;

/// <summary>
/// The report's figures as PNG bytes, drawn with ScottPlot (SkiaSharp; headless, as <see cref="Curves"/>):
/// the paper's Fig. 5 (P/R/F@K), Fig. 6 (neighbour count L), Fig. 7 (attention) and the validation curves.
/// </summary>
internal static class ReportFigures
{
    private const int PanelWidth = 520, Height = 440;

    /// <summary>Fig. 5: P@K, R@K and F@K against K = 10…100, a line per model (mean over seeds), three panels.</summary>
    public static byte[] PrfAtK(IReadOnlyList<ModelSummary> models)
    {
        var panels = new (string Label, Func<ModelSummary, double[]> Of)[] { ("P@K", m => m.PrecisionAtK), ("R@K", m => m.RecallAtK), ("F@K", m => m.F1AtK) };
        var plots = panels.Select((panel, i) =>
        {
            var plot = new ScottPlot.Plot();
            foreach (var m in models)
            {
                var line = plot.Add.Scatter(m.Ks.Select(k => (double)k).ToArray(), panel.Of(m));
                line.LegendText = ModelCatalog.Display(m.Model);
                line.LineWidth = m.Model == ModelCatalog.Alpine ? 3 : 1.5f;
            }
            plot.Axes.Bottom.Label.Text = "K";
            plot.Axes.Left.Label.Text = panel.Label;
            plot.Axes.Title.Label.Text = $"({(char)('a' + i)}) {panel.Label} on the test part";
            if (i == 0) plot.ShowLegend(ScottPlot.Alignment.UpperRight);
            else plot.HideLegend();
            return plot;
        }).ToArray();
        return Side(plots);
    }

    /// <summary>Fig. 6: ALPINE's test AUC_user and P/R/F@50 against the graph neighbour count L (mean over seeds), two panels.</summary>
    public static byte[] Neighbours(IReadOnlyList<(int TopL, ModelSummary Summary)> sweep)
    {
        double[] l = [.. sweep.Select(s => (double)s.TopL)];
        var auc = new ScottPlot.Plot();
        auc.Add.Scatter(l, sweep.Select(s => s.Summary.AucUser.Mean).ToArray()).LegendText = "AUC_user";
        auc.Add.Scatter(l, sweep.Select(s => s.Summary.GAuc.Mean).ToArray()).LegendText = "gAUC";
        var top = new ScottPlot.Plot();
        top.Add.Scatter(l, sweep.Select(s => s.Summary.P50.Mean).ToArray()).LegendText = "P@50";
        top.Add.Scatter(l, sweep.Select(s => s.Summary.R50.Mean).ToArray()).LegendText = "R@50";
        top.Add.Scatter(l, sweep.Select(s => s.Summary.F50.Mean).ToArray()).LegendText = "F@50";
        foreach (var (plot, title) in new[] { (auc, "(a) AUC against L"), (top, "(b) top-50 against L") })
        {
            plot.Axes.Bottom.Label.Text = "graph neighbours L";
            plot.Axes.Title.Label.Text = $"ALPINE {title}";
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(l, [.. l.Select(x => x.ToString("0", System.Globalization.CultureInfo.InvariantCulture))]);
            plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        }
        return Side([auc, top]);
    }

    /// <summary>Validation AUC_user against the epoch, a line per model (seed 1): how each run converged and where it stopped.</summary>
    public static byte[] LearningCurves(IReadOnlyList<RunResult> runs)
    {
        var plot = new ScottPlot.Plot();
        foreach (var r in runs.Where(r => r.Curve.Count > 0))
        {
            var line = plot.Add.Scatter(r.Curve.Select(c => (double)c.Epoch).ToArray(), r.Curve.Select(c => c.ValidationAucUser).ToArray());
            line.LegendText = ModelCatalog.Display(r.Model);
        }
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.Left.Label.Text = "validation AUC_user";
        plot.Axes.Title.Label.Text = "Validation rounds (seed 1); each run keeps its best round";
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        return plot.GetImageBytes(900, 560, ScottPlot.ImageFormat.Png);
    }

    /// <summary>
    /// Fig. 7: ALPINE's attention weights (click branch) for a few test targets of one user over the most recent
    /// click positions before them, a row per target; blank where a position is outside the target's window.
    /// </summary>
    public static byte[]? Attention(AlpineRankingModel model, PreparedData data)
    {
        if (AttentionExample.Of(model, data) is not { } e) return null;
        const int MaxColumns = 30;
        int rows = e.Positions.Length, last = e.End.Max(), first = Math.Max(0, last - MaxColumns), cols = Math.Max(1, last - first);
        var values = new double[rows, cols];
        for (int t = 0; t < rows; t++)
            for (int c = 0; c < cols; c++)
            {
                int pos = first + c;
                values[t, c] = pos >= e.Start[t] && pos < e.End[t] ? e.Alpha[t][pos - e.Start[t]] : double.NaN;
            }
        var plot = new ScottPlot.Plot();
        var map = plot.Add.Heatmap(values);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(map).Label = "attention weight α";
        // Row 0 of the heatmap is drawn at the top (y = rows − 1) and column c at x = c.
        plot.Axes.Bottom.Label.Text = $"position in user {e.User}'s click sequence (the most recent right)";
        int[] shown = [.. Enumerable.Range(0, cols).Where(c => c % 5 == 0 || c == cols - 1)];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. shown.Select(c => (double)c)], [.. shown.Select(c => (first + c).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, rows).Select(t => (double)(rows - 1 - t))],
            [.. Enumerable.Range(0, rows).Select(t => $"item {e.Items[t]} ({(e.Clicked[t] ? "clicked" : "not clicked")})")]);
        plot.Axes.Title.Label.Text = "ALPINE attention over the click history for test targets (Fig. 7)";
        return plot.GetImageBytes(1000, 120 + 70 * rows, ScottPlot.ImageFormat.Png);
    }

    /// <summary>Panels side by side in one PNG.</summary>
    private static byte[] Side(ScottPlot.Plot[] plots)
    {
        var multiplot = new ScottPlot.Multiplot();
        multiplot.Reset(plots[0]);
        foreach (var p in plots.Skip(1)) multiplot.AddPlot(p);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        using var image = multiplot.Render(PanelWidth * plots.Length, Height);
        return image.GetImageBytes(ScottPlot.ImageFormat.Png);
    }
}
