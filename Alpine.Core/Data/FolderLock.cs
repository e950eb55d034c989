using System.Runtime.InteropServices;
using System.Text;

namespace Alpine.Data;

/// <summary>
/// One writer at a time per output folder (a run folder, a data folder and the prepared cache inside it): an OS
/// file lock on <c>.&lt;name&gt;.lock</c> beside the folder, taken with <see cref="FileShare.None"/> (an exclusive
/// <c>flock</c> on Linux and macOS, a share mode on Windows), which the kernel releases when the process ends,
/// even on kill -9. The lock file holds the holder's pid for the message a second writer gets; it is removed on
/// release. While the lock is held nothing else writes the folder, so temporary files of earlier writers are
/// stale and <see cref="Acquire"/> sweeps them.
/// </summary>
public sealed class FolderLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _token;

    /// <summary>The lock file's path.</summary>
    public string Path { get; }

    private FolderLock(string path, FileStream stream, string token) { Path = path; _stream = stream; _token = token; }

    /// <summary>The lock file of <paramref name="dir"/>: beside it, so it survives the folder being replaced by a rename.</summary>
    public static string LockPathOf(string dir)
    {
        string full = System.IO.Path.GetFullPath(dir).TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full) ?? full, $".{System.IO.Path.GetFileName(full)}.lock");
    }

    /// <summary>
    /// Locks <paramref name="dir"/> (<paramref name="what"/> names it in the message: "run folder") for writing, then
    /// removes the temporary files earlier writers left (<see cref="AtomicFile.SweepStale"/>). A folder another
    /// process writes is a <see cref="UsageException"/> naming that process. <paramref name="createParent"/>: for a
    /// folder the caller creates, whose parents it would create too.
    /// </summary>
    public static FolderLock Acquire(string dir, string what, bool createParent = false)
    {
        string path = LockPathOf(dir);
        string? parent = System.IO.Path.GetDirectoryName(path);
        if (parent is not null && !Directory.Exists(parent))
        {
            if (!createParent) throw new UsageException($"no folder {dir}");
            try { Directory.CreateDirectory(parent); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot write {what} {dir}: {AtomicFile.Reason(e, dir)}");
            }
        }
        // A holder that releases removes the file; one that opened it just before may then lock a file no longer
        // at the path while a third locks a new one. The token read back through the path tells: retry then.
        for (int attempt = 0; ; attempt++)
        {
            FileStream stream;
            try { stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (File.Exists(path))
            {
                string holder = Holder(path);
                throw new UsageException($"{what} {dir} is being written by {holder} (lock {path}); wait for it to finish or stop it");
            }
            catch (UnauthorizedAccessException)
            {
                throw new UsageException($"cannot write {what} {dir}: permission denied: no file can be created in {parent}");
            }
            string token = $"{Environment.ProcessId} {Guid.NewGuid():N}\n";
            stream.SetLength(0);
            stream.Write(Encoding.ASCII.GetBytes(token));
            stream.Flush();
            if (ReadUnlocked(path) == token || attempt == 3)
            {
                AtomicFile.SweepStale(dir);
                return new FolderLock(path, stream, token);
            }
            stream.Dispose();
        }
    }

    /// <summary>"process 1234", from the holder's lock file; "another process" where it cannot be read.</summary>
    private static string Holder(string path)
    {
        string? text = ReadUnlocked(path);
        string pid = text?.Split(' ')[0] ?? "";
        return pid.Length > 0 && pid.All(char.IsAsciiDigit) ? $"process {pid}" : "another process";
    }

    /// <summary>
    /// The lock file's text, read past the holder's lock. .NET's own reads take a shared lock and fail against the
    /// holder's exclusive one, so this reads through libc; null on Windows (where the share mode forbids reading) or
    /// when the file is gone.
    /// </summary>
    private static string? ReadUnlocked(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        int fd = open(path, 0 /* O_RDONLY */);
        if (fd < 0) return null;
        try
        {
            var buffer = new byte[128];
            nint n = read(fd, buffer, buffer.Length);
            return n <= 0 ? "" : Encoding.ASCII.GetString(buffer, 0, (int)n);
        }
        finally { close(fd); }
    }

    [DllImport("libc", SetLastError = true)] private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte[] buffer, nint count);
    [DllImport("libc")] private static extern int close(int fd);

    /// <summary>Removes the lock file (if it is still ours) and releases the lock.</summary>
    public void Dispose()
    {
        string? text = ReadUnlocked(Path);
        if (text is null || text == _token)
            try { File.Delete(Path); } catch (IOException) { } // Windows refuses while the handle is open: the file stays, unlocked
        _stream.Dispose();
    }
}
