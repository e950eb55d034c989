namespace Alpine.Data;

/// <summary>
/// Output files written whole or not at all: a temp file in the same folder (so the rename stays on one file
/// system), flushed to disk, then moved over the target. A crash leaves the old file or the new one, never half.
/// Model files, checkpoints, metrics and the prepared cache all go through here.
/// </summary>
public static class AtomicFile
{
    /// <summary>Streams the content through <paramref name="write"/>; the file appears only once it is complete.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (IOException e) when (e.Message.Contains(tmp, StringComparison.Ordinal))
        {
            // Disk full and the like: the runtime names the temp file; the user knows only the target.
            throw new IOException(e.Message.Replace(tmp, full, StringComparison.Ordinal), e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private const string TempSuffix = ".tmp";

    /// <summary>
    /// Checks up front that <paramref name="path"/> can be written atomically, by creating and removing a temp
    /// file beside it, so a command fails before its long work rather than after. Throws
    /// <see cref="DataFormatException"/> naming <paramref name="path"/> and what <paramref name="purpose"/> needed it.
    /// </summary>
    public static void EnsureWritable(string path, string purpose)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new DataFormatException(path, $"is a folder, so it cannot be written as a file; remove or rename it ({purpose})");
        string probe = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1).Dispose();
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot be written ({Reason(e, path, probe)}); {purpose}", e);
        }
    }

    /// <summary>Why a write failed, in words naming <paramref name="userPath"/> instead of any <paramref name="internalPath"/>.</summary>
    public static string Reason(Exception e, string userPath, string? internalPath = null) => e switch
    {
        UnauthorizedAccessException => "permission denied: the folder is read-only or not yours",
        DirectoryNotFoundException => "its folder does not exist",
        _ => internalPath is null ? e.Message.ReplaceLineEndings(" ") : e.Message.Replace(internalPath, userPath, StringComparison.Ordinal).ReplaceLineEndings(" "),
    };

    /// <summary>Whether <paramref name="name"/> is the temporary file of a write to <paramref name="target"/> (a crash can leave one).</summary>
    public static bool IsTempOf(string name, string target) =>
        name.StartsWith($".{target}.", StringComparison.Ordinal) && name.EndsWith(TempSuffix, StringComparison.Ordinal);

    /// <summary>A new empty folder beside <paramref name="dir"/>, <c>&lt;dir&gt;.tmp-&lt;guid&gt;</c>: on the same file system, so <see cref="ReplaceFolder"/> is a rename.</summary>
    public static string CreateStagingFolder(string dir)
    {
        string full = Path.GetFullPath(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string staging = $"{full}.tmp-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>
    /// Moves <paramref name="staging"/> to <paramref name="dir"/>, replacing any folder there: the old one is renamed
    /// aside first and deleted last, so the new one appears by a single rename and a crash in between leaves both.
    /// </summary>
    public static void ReplaceFolder(string staging, string dir)
    {
        dir = Path.GetFullPath(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (Directory.Exists(dir))
        {
            string old = $"{dir}.old-{Guid.NewGuid():N}";
            Directory.Move(dir, old);
            Directory.Move(staging, dir);
            Directory.Delete(old, recursive: true);
        }
        else Directory.Move(staging, dir);
    }

    /// <summary>The name of the first entry of <paramref name="dir"/> that <paramref name="belongs"/> refuses, or null: what <c>--force</c> checks before it replaces a folder.</summary>
    public static string? FirstForeignEntry(string dir, Func<string, bool> belongs) =>
        Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).FirstOrDefault(n => !belongs(n));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));
}
