using System.Globalization;
using System.Text;
using Alpine.Data;
using Alpine.Eval;

namespace Alpine.Train;

/// <summary>
/// A run's <c>train_log.csv</c>: a header and a row per validation round. Rows are appended whole, newline last,
/// so a crash leaves either the whole row or a last line without its newline; <see cref="StartAt"/> drops such a
/// torn row and the rows past the checkpoint a resumed run starts from.
/// </summary>
public static class TrainLog
{
    public const string Header =
        "step,epoch,loss,val_auc_user,val_auc_global,val_gauc,val_logloss,val_p50,val_r50,val_f50,targets_per_s,cell_steps,seconds";

    private static readonly int Columns = Header.Count(c => c == ',') + 1;

    /// <summary>
    /// Readies the log at <paramref name="path"/> for a run starting at <paramref name="step"/>: a new log is the
    /// header alone; an existing one keeps its rows up to <paramref name="step"/> (a crash may have left later ones)
    /// and is refused, naming the line, if its header or a row is malformed. A last line without its newline is an
    /// append that a crash cut short: it is dropped.
    /// </summary>
    public static void StartAt(string path, long step)
    {
        if (!File.Exists(path)) { AtomicFile.WriteAllText(path, Header + "\n"); return; }
        string[] lines = File.ReadAllText(path).Split('\n'); // the last piece is "" or a torn row
        if (lines.Length < 2 || lines[0].TrimEnd('\r') != Header)
            throw new DataFormatException(path, 1, $"expected the header '{Header}'");
        var keep = new List<string> { Header };
        for (int i = 1; i < lines.Length - 1; i++)
        {
            string row = lines[i].TrimEnd('\r');
            if (row.Length == 0) continue;
            if (StepOf(row) is not long s)
                throw new DataFormatException(path, i + 1, $"malformed row '{row}'; expected {Columns} columns ({Header}) with whole numbers for step and epoch");
            if (s <= step) keep.Add(row);
        }
        AtomicFile.WriteAllText(path, string.Join("\n", keep) + "\n");
    }

    /// <summary>A row's step, or null when the row does not have the header's columns with whole numbers for step and epoch.</summary>
    private static long? StepOf(string row)
    {
        string[] f = row.Split(',');
        return f.Length == Columns && long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out long s)
            && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out _) ? s : null;
    }

    /// <summary>The row of a validation round: the round's mean training loss, <paramref name="v"/>'s metrics, and the round's speed.</summary>
    public static string Row(TrainingProgress p, int epoch, MetricReport v, double targetsPerSecond, double seconds)
    {
        int k50 = Array.IndexOf(v.Ks, 50);
        string F(double x) => double.IsFinite(x) ? x.ToString("0.######", CultureInfo.InvariantCulture) : "";
        return string.Join(",",
            p.Step.ToString(CultureInfo.InvariantCulture), epoch.ToString(CultureInfo.InvariantCulture),
            F(p.RoundLossSum / Math.Max(1, p.RoundTargets)),
            F(v.AucUser), F(v.AucGlobal), F(v.GAuc), F(v.LogLoss),
            F(k50 >= 0 ? v.Precision[k50] : double.NaN), F(k50 >= 0 ? v.Recall[k50] : double.NaN), F(k50 >= 0 ? v.F1[k50] : double.NaN),
            F(Math.Round(targetsPerSecond, 1)), p.RoundCellSteps.ToString(CultureInfo.InvariantCulture), F(Math.Round(seconds, 3)));
    }

    /// <summary>Appends <paramref name="row"/> to the log at <paramref name="path"/>.</summary>
    public static void Append(string path, string row)
    {
        // One write of the whole row, newline last, flushed: a crash leaves the row whole or a tail without a newline.
        using var log = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        log.Write(Encoding.UTF8.GetBytes(row + "\n"));
        log.Flush(flushToDisk: true);
    }
}
