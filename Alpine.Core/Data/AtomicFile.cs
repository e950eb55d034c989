namespace Alpine.Data;

/// <summary>
/// Output files written whole or not at all: a temp file in the same folder (so the rename stays on one file
/// system), flushed to disk, then moved over the target. A crash leaves the old file or the new one, never half.
/// Model files, checkpoints, metrics and the prepared cache all go through here. A failure names the file the
/// user asked for, never the temp file: "cannot write RUN/model.alp: No space left on device".
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write {full}: {Reason(e, full, tmp)}", e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>
    /// Refuses, before long work, an existing <paramref name="dir"/> in which no file can be created (read-only,
    /// no permission): a probe file is created and removed at once.
    /// </summary>
    public static void RequireWritable(string dir)
    {
        if (!Directory.Exists(dir)) return;
        string probe = Path.Combine(dir, $".write-check.{Guid.NewGuid():N}{TempSuffix}");
        if (Probe(probe) is Exception e) throw new UsageException($"cannot write to {dir}: {Reason(e, dir, probe)}");
    }

    /// <summary>Creates and removes <paramref name="probe"/>; the refusal, if the OS gives one.</summary>
    private static Exception? Probe(string probe)
    {
        try
        {
            using var _ = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e;
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
        if (Probe(probe) is Exception e) throw new DataFormatException(path, $"cannot be written ({Reason(e, path, probe)}); {purpose}", e);
    }

    /// <summary>Why a write failed, in words naming <paramref name="userPath"/> instead of any <paramref name="internalPath"/>.</summary>
    public static string Reason(Exception e, string userPath, string? internalPath = null)
    {
        switch (e)
        {
            case UnauthorizedAccessException: return "permission denied: the folder is read-only or not yours";
            case DirectoryNotFoundException: return "its folder does not exist";
        }
        string m = (internalPath is null ? e.Message : e.Message.Replace(internalPath, userPath, StringComparison.Ordinal)).ReplaceLineEndings(" ").Trim();
        // "No space left on device : '/path'": the caller's message names the path already.
        return System.Text.RegularExpressions.Regex.Replace(m, @"\s*:\s*'[^']*'\s*\.?$", "").TrimEnd('.');
    }

    /// <summary>Whether <paramref name="name"/> is the temporary file of a write to <paramref name="target"/> (a crash can leave one).</summary>
    public static bool IsTempOf(string name, string target) =>
        name.StartsWith($".{target}.", StringComparison.Ordinal) && name.EndsWith(TempSuffix, StringComparison.Ordinal);

    /// <summary>A new empty folder beside <paramref name="dir"/>, <c>&lt;dir&gt;.tmp-&lt;guid&gt;</c>: on the same file system, so <see cref="ReplaceFolder"/> is a rename.</summary>
    public static string CreateStagingFolder(string dir)
    {
        string full = Path.GetFullPath(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string staging = $"{full}.tmp-{Guid.NewGuid():N}";
        try { Directory.CreateDirectory(staging); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create {full}: {Reason(e, staging, full)}", e);
        }
        return staging;
    }

    /// <summary>
    /// Moves <paramref name="staging"/> to <paramref name="dir"/>, replacing any folder there: the old one is renamed
    /// aside first and deleted last, so the new one appears by a single rename and a crash in between leaves both.
    /// </summary>
    public static void ReplaceFolder(string staging, string dir)
    {
        dir = Path.GetFullPath(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string old = $"{dir}.old-{Guid.NewGuid():N}";
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Move(dir, old);
                Directory.Move(staging, dir);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(staging, dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot replace {dir}: {Reason(e, staging, dir).Replace(old, dir, StringComparison.Ordinal)}", e);
        }
    }

    /// <summary>The name of the first entry of <paramref name="dir"/> that <paramref name="belongs"/> refuses, or null: what <c>--force</c> checks before it replaces a folder.</summary>
    public static string? FirstForeignEntry(string dir, Func<string, bool> belongs) =>
        Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).FirstOrDefault(n => !belongs(n));

    /// <summary>
    /// Removes what interrupted writes to <paramref name="dir"/> left: staging folders (<c>DIR.tmp-&lt;guid&gt;</c>),
    /// replaced folders not yet deleted (<c>DIR.old-&lt;guid&gt;</c>) and the temp files of atomic writes inside it.
    /// Only for a caller holding <paramref name="dir"/>'s <see cref="FolderLock"/>: then no live writer owns them.
    /// </summary>
    public static void SweepStale(string dir)
    {
        string full = Path.GetFullPath(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string? parent = Path.GetDirectoryName(full);
        string name = Path.GetFileName(full);
        if (parent is not null && Directory.Exists(parent))
            foreach (var d in Directory.EnumerateDirectories(parent, $"{name}.*-*"))
                if (IsStagingName(Path.GetFileName(d), name)) Directory.Delete(d, recursive: true);
        if (Directory.Exists(full))
            foreach (var f in Directory.EnumerateFiles(full, $".*{TempSuffix}"))
                if (IsTempName(Path.GetFileName(f))) File.Delete(f);
    }

    /// <summary><c>name.tmp-&lt;guid&gt;</c> or <c>name.old-&lt;guid&gt;</c>: a folder <see cref="CreateStagingFolder"/> or <see cref="ReplaceFolder"/> made.</summary>
    private static bool IsStagingName(string entry, string name) =>
        entry.Length == name.Length + 5 + 32 && entry.StartsWith(name, StringComparison.Ordinal)
        && (entry.AsSpan(name.Length).StartsWith(".tmp-") || entry.AsSpan(name.Length).StartsWith(".old-"))
        && IsGuid(entry.AsSpan(name.Length + 5));

    /// <summary><c>.file.&lt;guid&gt;.tmp</c>: <see cref="Write"/>'s temp file.</summary>
    private static bool IsTempName(string entry) =>
        entry.Length > 1 + 1 + 32 + TempSuffix.Length && entry[0] == '.'
        && entry[^(TempSuffix.Length + 33)] == '.' && IsGuid(entry.AsSpan(entry.Length - TempSuffix.Length - 32, 32));

    private static bool IsGuid(ReadOnlySpan<char> s) => s.Length == 32 && !s.ContainsAnyExcept("0123456789abcdef");

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));
}
