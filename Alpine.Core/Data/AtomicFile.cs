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
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));
}
