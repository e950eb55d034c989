using Alpine.Data;

namespace Alpine.Train;

/// <summary>
/// The run folder of <c>alpine train</c>: which files make a run, and what a fresh run may replace. A fresh run
/// trains in a staging folder beside its target and the <see cref="Trainer"/> moves it into place at its first
/// checkpoint: a run that fails before then (no CUDA device, divergence, no train impressions) leaves the old
/// run, or no folder, as it was.
/// </summary>
public static class RunFolder
{
    /// <summary>The files a run folder holds: all that <c>--force</c> may replace.</summary>
    public static readonly string[] Files =
        [Trainer.ModelFileName, Trainer.CheckpointFileName, Trainer.LogFileName, Trainer.MetricsFileName, Trainer.TestMetricsFileName, Trainer.CurvesFileName];

    /// <summary>A run's file, or the temporary file of an atomic write to one (a crash can leave those).</summary>
    public static bool IsRunEntry(string name) => Files.Any(f => f == name || AtomicFile.IsTempOf(name, f));

    /// <summary>
    /// Refuses a <paramref name="dir"/> a fresh run may not replace: a file; a non-empty folder without
    /// <paramref name="force"/>; with it, a folder holding anything but run files (e.g. <c>--out .</c> or a data folder).
    /// </summary>
    public static void RequireReplaceable(string dir, bool force)
    {
        if (File.Exists(dir)) throw new UsageException($"--out {dir} is a file; expected a run folder");
        if (!Directory.Exists(dir) || !Directory.EnumerateFileSystemEntries(dir).Any()) return;
        if (!force) throw new UsageException($"run folder '{dir}' exists; continue it with --resume or replace it with --force");
        string? foreign = AtomicFile.FirstForeignEntry(dir, IsRunEntry);
        if (foreign is not null)
            throw new UsageException($"--out {dir} is not a run folder (it holds '{foreign}'); --force only replaces a folder of {string.Join(", ", Files)}");
    }
}
