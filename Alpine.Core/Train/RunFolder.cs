using System.Diagnostics;
using Alpine.Data;

namespace Alpine.Train;

/// <summary>
/// The run folder of <c>alpine train</c>: the names of its files, what a fresh run may replace, and where its
/// files go while it trains. A fresh run (<see cref="ForFreshRun"/>, then <see cref="Stage"/>) trains in a staging
/// folder beside its target and <see cref="Publish"/> moves it into place at its first checkpoint: a run that
/// fails before then (no CUDA device, divergence, no train impressions) leaves the old run, or no folder, as it
/// was. A resumed run (<see cref="ForResume"/>) writes in place. Either holds the folder's writer lock until disposed.
/// </summary>
public sealed class RunFolder : IDisposable
{
    public const string ModelFileName = "model.alp", CheckpointFileName = "checkpoint.alp", LogFileName = "train_log.csv",
        MetricsFileName = "metrics.json", TestMetricsFileName = "metrics_test.json", CurvesFileName = "curves.png";

    /// <summary>The files a run folder holds: all that <c>--force</c> may replace.</summary>
    public static readonly string[] Files =
        [ModelFileName, CheckpointFileName, LogFileName, MetricsFileName, TestMetricsFileName, CurvesFileName];

    private readonly FolderLock? _writer;
    private string? _staging;

    private RunFolder(string target, FolderLock? writer) { Target = target; _writer = writer; }

    /// <summary>The run folder the user named (<c>--out</c>).</summary>
    public string Target { get; }

    /// <summary>Where the run's files are written now: the staging folder until <see cref="Publish"/>, then <see cref="Target"/>.</summary>
    public string Dir => _staging ?? Target;

    /// <summary>Whether the run still trains in its staging folder.</summary>
    public bool IsStaged => _staging is not null;

    public string ModelPath => Path.Combine(Dir, ModelFileName);
    public string CheckpointPath => Path.Combine(Dir, CheckpointFileName);
    public string LogPath => Path.Combine(Dir, LogFileName);
    public string MetricsPath => Path.Combine(Dir, MetricsFileName);
    public string TestMetricsPath => Path.Combine(Dir, TestMetricsFileName);

    /// <summary>
    /// Whether stopping now would replace a previous run with one that has no model yet: a staged run before its
    /// first validation round, with a folder at <see cref="Target"/>. The old run is worth more than a checkpoint
    /// of a few batches.
    /// </summary>
    public bool WouldLosePrevious => _staging is not null && Directory.Exists(Target) && !File.Exists(ModelPath);

    /// <summary>The run folder <paramref name="dir"/> as it is, written in place, without a lock: for a caller that owns the folder.</summary>
    public static RunFolder At(string dir) => new(dir, null);

    /// <summary>
    /// Locks <paramref name="dir"/> for a fresh run (creating its parent) and refuses it where a fresh run may not
    /// go (<see cref="RequireReplaceable"/>).
    /// </summary>
    public static RunFolder ForFreshRun(string dir, bool force)
    {
        var writer = FolderLock.Acquire(dir, "run folder", createParent: true);
        try { RequireReplaceable(dir, force); }
        catch { writer.Dispose(); throw; }
        return new RunFolder(dir, writer);
    }

    /// <summary>
    /// Locks <paramref name="dir"/> to continue its run in place; refuses a folder without a checkpoint or one it cannot write.
    /// </summary>
    public static RunFolder ForResume(string dir)
    {
        string path = Path.Combine(dir, CheckpointFileName);
        if (!File.Exists(path)) throw new UsageException($"--resume needs {path}, which does not exist");
        var writer = FolderLock.Acquire(dir, "run folder");
        try { AtomicFile.RequireWritable(dir); }
        catch { writer.Dispose(); throw; }
        return new RunFolder(dir, writer);
    }

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

    /// <summary>Creates the staging folder beside <see cref="Target"/> that the run's files go to until <see cref="Publish"/>.</summary>
    public void Stage()
    {
        Debug.Assert(_staging is null, "staged twice");
        _staging = AtomicFile.CreateStagingFolder(Target);
    }

    /// <summary>Moves the staging folder to <see cref="Target"/>, replacing the folder there; the run goes on there. Nothing to do for a run written in place.</summary>
    public void Publish()
    {
        if (_staging is null) return;
        AtomicFile.ReplaceFolder(_staging, Target);
        _staging = null;
    }

    /// <summary>Deletes a staging folder never published (the run failed before its first checkpoint) and releases the lock.</summary>
    public void Dispose()
    {
        try { if (_staging is not null && Directory.Exists(_staging)) Directory.Delete(_staging, recursive: true); }
        finally { _staging = null; _writer?.Dispose(); }
    }
}
