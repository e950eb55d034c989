
namespace Alpine.Data;

/// <summary>
/// A native data folder (SPEC D16): <c>interactions.csv</c>, <c>items.npy</c>, optional <c>item_categories.csv</c>.
/// Opening reads only the .npy header; features are streamed by their users in chunks (SPEC D18).
/// </summary>
public sealed class DataFolder
{
    public string Dir { get; }
    public string InteractionsPath { get; }
    public string ItemsPath { get; }
    /// <summary>Null when the folder has no <c>item_categories.csv</c>.</summary>
    public string? CategoriesPath { get; }
    /// <summary>Thacil when the folder carries item categories (Dataset II), else Kuaishou.</summary>
    public Profile Profile => CategoriesPath is null ? Profile.Kuaishou : Profile.Thacil;
    /// <summary>Rows of <c>items.npy</c>: item ids are <c>0..ItemCount-1</c>.</summary>
    public int ItemCount { get; }
    /// <summary>Columns of <c>items.npy</c>.</summary>
    public int FeatureDim { get; }

    private DataFolder(string dir, string? categoriesPath, int itemCount, int featureDim)
    {
        Dir = dir;
        InteractionsPath = Path.Combine(dir, NativeFormat.InteractionsFile);
        ItemsPath = Path.Combine(dir, NativeFormat.ItemsFile);
        CategoriesPath = categoriesPath;
        ItemCount = itemCount;
        FeatureDim = featureDim;
    }

    /// <summary>Checks the folder and its files exist and reads the feature header.</summary>
    public static DataFolder Open(string dir)
    {
        if (!Directory.Exists(dir))
            throw new DataFormatException(dir, "no such data folder; expected a folder with interactions.csv and items.npy (see docs/FORMATS.md)");
        foreach (string f in (string[])[NativeFormat.InteractionsFile, NativeFormat.ItemsFile])
        {
            string p = Path.Combine(dir, f);
            if (!File.Exists(p)) throw new DataFormatException(p, $"missing: a data folder holds {NativeFormat.InteractionsFile}, {NativeFormat.ItemsFile} and optionally {NativeFormat.CategoriesFile}");
        }
        string cats = Path.Combine(dir, NativeFormat.CategoriesFile);
        using var npy = NpyFile.OpenRead(Path.Combine(dir, NativeFormat.ItemsFile));
        if (npy.Rows > int.MaxValue)
            throw new DataFormatException(npy.Path, $"{npy.Rows} rows; at most {int.MaxValue} items are supported");
        return new DataFolder(dir, File.Exists(cats) ? cats : null, (int)npy.Rows, npy.Cols);
    }

    /// <summary>
    /// Reads the impressions, refusing an item id without a feature row (naming the line) and user ids that
    /// are not dense (<see cref="InteractionLog.EnsureDenseUsers"/>).
    /// </summary>
    public InteractionLog LoadLog()
    {
        var log = NativeFormat.ReadInteractions(InteractionsPath, ItemCount);
        log.EnsureDenseUsers(InteractionsPath);
        return log;
    }

    /// <summary>The category of each item, or null for the Kuaishou profile.</summary>
    public int[]? LoadCategories() => CategoriesPath is null ? null : NativeFormat.ReadCategories(CategoriesPath, ItemCount);

    /// <summary>Opens <c>items.npy</c> for chunked reading; the caller disposes it.</summary>
    public NpyReader OpenFeatures() => NpyFile.OpenRead(ItemsPath);

    /// <summary>Streams every feature row once, refusing values training cannot use (<see cref="FeatureCheck"/>; naming row and column).</summary>
    public void ValidateFeatures(int chunkRows = 4096)
    {
        using var npy = OpenFeatures();
        var buf = new float[(long)chunkRows * npy.Cols];
        for (long r = 0; r < npy.Rows; r += chunkRows)
        {
            int n = (int)Math.Min(chunkRows, npy.Rows - r);
            npy.ReadRowsChecked(r, buf.AsSpan(0, n * npy.Cols));
        }
    }

    /// <summary>
    /// Writes a folder atomically: <paramref name="write"/> fills <c>&lt;dir&gt;.tmp-&lt;guid&gt;</c>, which is then
    /// renamed to <paramref name="dir"/>; on any failure the temporary folder is removed, so nothing half-written remains.
    /// An existing non-empty <paramref name="dir"/> is refused unless <paramref name="overwrite"/>, and even then
    /// unless it is a data folder (<see cref="IsDataFolderEntry"/>): <c>--force</c> never wipes anything else.
    /// </summary>
    public static void WriteAtomically(string dir, bool overwrite, Action<string> write)
    {
        dir = Path.GetFullPath(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (File.Exists(dir)) throw new UsageException($"--out {dir} is a file; expected a folder path");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            if (!overwrite) throw new UsageException($"--out {dir} already exists and is not empty (use --force to replace it)");
            string? foreign = AtomicFile.FirstForeignEntry(dir, IsDataFolderEntry);
            if (foreign is not null)
                throw new UsageException($"--out {dir} is not a data folder (it holds '{foreign}'); --force only replaces a folder of " +
                    $"{NativeFormat.InteractionsFile}, {NativeFormat.ItemsFile}, {NativeFormat.CategoriesFile} and {NativeFormat.PreparedCacheFile}");
        }
        // Preflight: the staging folder is made before any work, so a read-only or missing place fails at once,
        // naming --out rather than the staging folder.
        string tmp;
        try
        {
            string? parent = Path.GetDirectoryName(dir);
            if (parent is not null) Directory.CreateDirectory(parent);
            tmp = AtomicFile.CreateStagingFolder(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = System.Text.RegularExpressions.Regex.Replace(AtomicFile.Reason(e, dir),
                System.Text.RegularExpressions.Regex.Escape(dir) + @"\.tmp-[0-9a-f]{32}", dir);
            throw new UsageException($"--out {dir} cannot be written: {why}; choose a folder you can write to");
        }
        try
        {
            write(tmp);
            AtomicFile.ReplaceFolder(tmp, dir);
        }
        catch (IOException e) when (e.Message.Contains(tmp, StringComparison.Ordinal))
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            // Disk full and the like: the runtime names the staging folder; the user knows only --out.
            throw new IOException(e.Message.Replace(tmp, dir, StringComparison.Ordinal), e);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }

    /// <summary>Whether a file name belongs in a data folder: its files, the prepared cache, or a cache write's temp file.</summary>
    public static bool IsDataFolderEntry(string name) =>
        name is NativeFormat.InteractionsFile or NativeFormat.ItemsFile or NativeFormat.CategoriesFile or NativeFormat.PreparedCacheFile
        || AtomicFile.IsTempOf(name, NativeFormat.PreparedCacheFile);
}
