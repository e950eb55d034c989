using Alpine.Data;

namespace Alpine.Reproduce;

/// <summary>
/// The report folder of <c>alpine reproduce</c>: its file names, what may already be in it (a report is continued,
/// anything else is refused), and its writer lock.
/// </summary>
public static class ReportFolder
{
    public const string Table2 = "table2", Table3 = "table3", Neighbours = "neighbours",
        Fig5 = "fig5_prf_at_k.png", Fig6 = "fig6_neighbours.png", Fig7 = "fig7_attention.png", Curves = "learning_curves.png";

    /// <summary>Every file a report holds beside <see cref="Reproduction.RunsFolder"/>.</summary>
    public static readonly string[] Files =
    [
        Table2 + ".md", Table2 + ".csv", Table3 + ".md", Table3 + ".csv", Neighbours + ".md", Neighbours + ".csv", Fig5, Fig6, Fig7, Curves,
    ];

    /// <summary>A report's entry, or the temporary file of an atomic write to one.</summary>
    public static bool IsReportEntry(string name) =>
        name == Reproduction.RunsFolder || Files.Any(f => f == name || AtomicFile.IsTempOf(name, f));

    /// <summary>
    /// Refuses, before any work, a <paramref name="dir"/> that is a file, a folder holding anything but a report,
    /// or a place where nothing can be written (for a new folder: its nearest existing parent).
    /// </summary>
    public static void RequireUsable(string dir)
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw new UsageException($"--out {dir} is a file; expected a report folder");
        if (Directory.Exists(full))
        {
            string? foreign = AtomicFile.FirstForeignEntry(full, IsReportEntry);
            if (foreign is not null)
                throw new UsageException($"--out {dir} is not a report folder (it holds '{foreign}'); give a new or empty folder, or a report to continue");
            AtomicFile.RequireWritable(full);
            return;
        }
        string? parent = Path.GetDirectoryName(full);
        while (parent is not null && !Directory.Exists(parent))
        {
            if (File.Exists(parent)) throw new UsageException($"--out {dir} cannot be created: {parent} is a file");
            parent = Path.GetDirectoryName(parent);
        }
        if (parent is null) return;
        try { AtomicFile.RequireWritable(parent); }
        catch (UsageException e) { throw new UsageException($"--out {dir} cannot be created: {e.Message}"); }
    }

    /// <summary>Locks <paramref name="dir"/> for this writer (creating it and its runs folder); disposed, the lock is released.</summary>
    public static FolderLock Open(string dir)
    {
        var writer = FolderLock.Acquire(dir, "report folder", createParent: true);
        try { Directory.CreateDirectory(Path.Combine(dir, Reproduction.RunsFolder)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            writer.Dispose();
            throw new UsageException($"cannot write report folder {dir}: {AtomicFile.Reason(e, dir)}");
        }
        return writer;
    }
}
