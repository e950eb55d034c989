using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Alpine.Data;

namespace Alpine.Serving;

/// <summary>How far an observation is written before <see cref="AlpineModel.Observe"/> returns (acknowledges it).</summary>
public enum JournalSync
{
    /// <summary>To the disk (fdatasync; fsync off Linux): an acknowledged observation survives kill -9 of the server,
    /// an operating-system crash and power loss. Costs the disk's cache flush per observe (~4 ms on a virtio disk).</summary>
    Disk,
    /// <summary>To the operating system (one write(2), no flush): an acknowledged observation survives kill -9 of the
    /// server, not an operating-system crash or power loss. Costs microseconds.</summary>
    Os,
}

/// <summary>
/// The serving folder's journal of observed impressions, <c>observed.log</c> (docs/FORMATS.md): a header naming
/// the data set, then one fixed-size record per observation, each framed by its length and a checksum. An append
/// is one positioned write of the record, then, with <see cref="JournalSync.Disk"/>, fdatasync: the file only grows,
/// so the data and its length are all a crash could lose, and fdatasync flushes both without the rest of the inode
/// (no faster than fsync on the dev VM's disk, where the flush itself is the cost; never slower). At open the records are read back in order: a damaged last record is one a crash tore while writing, and
/// is dropped (with a warning, the file cut back to the records before it); a damaged record with records after it
/// is damage, refused naming its byte offset. One writer per folder (<see cref="FolderLock"/>).
/// </summary>
internal sealed class Journal : IDisposable
{
    public const string FileName = "observed.log";
    private static readonly byte[] Magic = "ALPJRNL\0"u8.ToArray();
    private const int Version = 1;
    private const int PayloadSize = 4 + 4 + 8 + 1;                     // user, item, timestamp, click
    public const int RecordSize = 4 + PayloadSize + 4;                  // length, payload, checksum

    private readonly FolderLock _lock;
    private readonly FileStream _file;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private readonly JournalSync _sync;
    private readonly object _append = new();
    private readonly byte[] _record = new byte[RecordSize];
    private long _end;

    public string Dir { get; }
    public string Path { get; }

    private Journal(string dir, string path, FolderLock folderLock, FileStream file, JournalSync sync)
    {
        Dir = dir; Path = path; _lock = folderLock; _file = file; _sync = sync;
        _end = file.Position;
        _handle = file.SafeFileHandle;
    }

    /// <summary>
    /// Locks <paramref name="dir"/> (created when missing), creates the journal for <paramref name="fingerprint"/> or
    /// reads back its records (refusing one of other data), and leaves it open for appends after the last good record.
    /// </summary>
    public static Journal Open(string dir, string fingerprint, JournalSync sync, out List<(long Offset, Observation Record)> records, out string? warning)
    {
        var folderLock = FolderLock.Acquire(dir, "serving folder", createParent: true);
        try
        {
            Directory.CreateDirectory(dir);
            string path = System.IO.Path.Combine(dir, FileName);
            byte[] header = Header(fingerprint);
            if (!File.Exists(path)) AtomicFile.WriteAllBytes(path, header);
            var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            try
            {
                records = Read(file, path, header, out long end, out warning);
                file.SetLength(end);
                file.Position = end;
                file.Flush(flushToDisk: true);
                return new Journal(dir, path, folderLock, file, sync);
            }
            catch { file.Dispose(); throw; }
        }
        catch { folderLock.Dispose(); throw; }
    }

    /// <summary>Appends one record, on disk or with the operating system when it returns (<see cref="JournalSync"/>).</summary>
    public void Append(Observation o)
    {
        lock (_append)
        {
            Encode(o, _record);
            RandomAccess.Write(_handle, _record, _end);
            _end += RecordSize;
            if (_sync == JournalSync.Disk) SyncData();
        }
    }

    private void SyncData()
    {
        if (!OperatingSystem.IsLinux())
        {
            _file.Flush(flushToDisk: true);
            return;
        }
        if (FdataSync((int)_handle.DangerousGetHandle()) != 0)
            throw new IOException($"cannot flush the serving journal {Path} to disk (fdatasync: errno {Marshal.GetLastPInvokeError()})");
    }

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int FdataSync(int fd);

    public void Dispose()
    {
        _file.Dispose();
        _lock.Dispose();
    }

    private static byte[] Header(string fingerprint)
    {
        byte[] fp = Encoding.UTF8.GetBytes(fingerprint);
        var h = new byte[Magic.Length + 4 + 4 + fp.Length];
        Magic.CopyTo(h, 0);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(Magic.Length), Version);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(Magic.Length + 4), fp.Length);
        fp.CopyTo(h, Magic.Length + 8);
        return h;
    }

    internal static void Encode(Observation o, Span<byte> r)
    {
        BinaryPrimitives.WriteInt32LittleEndian(r, PayloadSize);
        var payload = r.Slice(4, PayloadSize);
        BinaryPrimitives.WriteInt32LittleEndian(payload, o.User);
        BinaryPrimitives.WriteInt32LittleEndian(payload[4..], o.Item);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], o.Timestamp);
        payload[16] = o.Click ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32LittleEndian(r[(4 + PayloadSize)..], Checksum(r[..(4 + PayloadSize)]));
    }

    /// <summary>The first 4 bytes of the SHA-256 of the length and the payload.</summary>
    private static uint Checksum(ReadOnlySpan<byte> framed)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(framed, hash);
        return BinaryPrimitives.ReadUInt32LittleEndian(hash);
    }

    private static List<(long, Observation)> Read(FileStream file, string path, byte[] header, out long end, out string? warning)
    {
        warning = null;
        var bytes = new byte[file.Length];
        file.Position = 0;
        file.ReadExactly(bytes);
        if (bytes.Length < header.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new DataFormatException(path, "is not an alpine serving journal (bad header); move it away to start a new one");
        if (!bytes.AsSpan(0, header.Length).SequenceEqual(header))
            throw new DataFormatException(path, "was written for another data set or journal version; move it away, or serve the data it belongs to");
        var records = new List<(long, Observation)>();
        long at = header.Length;
        while (at < bytes.Length)
        {
            var r = bytes.AsSpan((int)at, (int)Math.Min(RecordSize, bytes.Length - at));
            bool whole = r.Length == RecordSize;
            bool ok = whole && BinaryPrimitives.ReadInt32LittleEndian(r) == PayloadSize
                && BinaryPrimitives.ReadUInt32LittleEndian(r[(4 + PayloadSize)..]) == Checksum(r[..(4 + PayloadSize)])
                && r[4 + 16] <= 1;
            if (!ok)
            {
                if (at + RecordSize < bytes.Length)
                    throw new DataFormatException(path, $"the record at byte {at} is damaged (bad length or checksum) and records follow it; " +
                        "the journal cannot be trusted past it: restore it from a copy, or move it away to start a new one");
                warning = $"serving journal {path}: dropped the torn last record at byte {at} ({bytes.Length - at} bytes), written when the server stopped; " +
                    "it was never acknowledged";
                break;
            }
            var p = r.Slice(4, PayloadSize);
            records.Add((at, new Observation(BinaryPrimitives.ReadInt32LittleEndian(p), BinaryPrimitives.ReadInt32LittleEndian(p[4..]),
                BinaryPrimitives.ReadInt64LittleEndian(p[8..]), p[16] == 1)));
            at += RecordSize;
        }
        end = at;
        return records;
    }
}
