using System.Globalization;
using Alpine.Data;
using Alpine.Train;

namespace Alpine.Cli;

/// <summary>
/// RUN/curves.png: the mean train loss and the validation AUC_user of each validation round, against the step,
/// drawn from RUN/train_log.csv with ScottPlot (SkiaSharp; renders headless).
/// </summary>
internal static class Curves
{
    /// <summary>Writes the plot atomically; a run whose plot cannot be drawn keeps its model and only warns.</summary>
    public static void TryWrite(string runDir)
    {
        string log = Path.Combine(runDir, RunFolder.LogFileName);
        if (!File.Exists(log)) return;
        try
        {
            byte[] png = Render(File.ReadAllLines(log));
            AtomicFile.Write(Path.Combine(runDir, RunFolder.CurvesFileName), s => s.Write(png));
        }
        catch (Exception e) when (e is IOException or TypeInitializationException or DllNotFoundException or FormatException)
        {
            Console.Error.WriteLine($"alpine train: warning: could not draw {Path.Combine(runDir, RunFolder.CurvesFileName)}: {e.Message}");
        }
    }

    /// <summary>The PNG of a train_log.csv's lines (header first; columns step, epoch, loss, val_auc_user, …).</summary>
    internal static byte[] Render(string[] lines)
    {
        var rows = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToArray();
        double Col(string[] r, int i) => double.Parse(r[i], CultureInfo.InvariantCulture);
        double[] step = rows.Select(r => Col(r, 0)).ToArray();
        double[] loss = rows.Select(r => Col(r, 2)).ToArray();
        double[] auc = rows.Select(r => Col(r, 3)).ToArray();

        var plot = new ScottPlot.Plot();
        var lossLine = plot.Add.Scatter(step, loss);
        lossLine.LegendText = "train loss (round mean)";
        var aucLine = plot.Add.Scatter(step, auc);
        aucLine.LegendText = "validation AUC_user";
        aucLine.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Bottom.Label.Text = "step";
        plot.Axes.Left.Label.Text = "train loss";
        plot.Axes.Right.Label.Text = "validation AUC_user";
        plot.ShowLegend(ScottPlot.Alignment.UpperCenter);
        return plot.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png);
    }
}
