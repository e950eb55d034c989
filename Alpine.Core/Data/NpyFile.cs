using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Alpine.Data;

/// <summary>
/// NumPy <c>.npy</c> files of float32 matrices <c>[rows, cols]</c>, C order, little-endian
/// (format versions 1, 2 and 3). Rows stream in chunks: nothing here holds a whole matrix (SPEC D18).
/// </summary>
public static partial class NpyFile
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads and checks the header; the returned reader streams rows.</summary>
    public static NpyReader OpenRead(string path) => new(path);

    /// <summary>Creates a writer for a <c>[rows, cols]</c> float32 matrix; rows are appended in order.</summary>
    public static NpyWriter Create(string path, long rows, int cols) => new(path, rows, cols);

    internal static (long Rows, int Cols, long DataOffset) ReadHeader(Stream s, string path)
    {
        Span<byte> pre = stackalloc byte[12];
        int got = s.ReadAtLeast(pre, 12, throwOnEndOfStream: false);
        if (got == 0) throw new DataFormatException(path, "the file is empty; expected a NumPy .npy float32 matrix");
        if (got < 10 || !pre[..6].SequenceEqual(Magic))
            throw new DataFormatException(path, "not a NumPy .npy file (missing the \\x93NUMPY magic)");
        byte major = pre[6];
        long headerLen, dataStart;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]); dataStart = 10 + headerLen; }
        else if (major is 2 or 3)
        {
            if (got < 12) throw new DataFormatException(path, "truncated .npy header");
            headerLen = BinaryPrimitives.ReadUInt32LittleEndian(pre[8..]); dataStart = 12 + headerLen;
        }
        else throw new DataFormatException(path, $".npy format version {major} is not supported; expected 1, 2 or 3");
        if (dataStart > s.Length) throw new DataFormatException(path, "truncated .npy header");
        s.Position = dataStart - headerLen;
        var buf = new byte[headerLen];
        s.ReadExactly(buf);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(buf);

        var descr = DescrRegex().Match(header);
        if (!descr.Success) throw new DataFormatException(path, "the .npy header has no 'descr'");
        if (descr.Groups[1].Value is not ("<f4" or "=f4" or "f4"))
            throw new DataFormatException(path, $"element type '{descr.Groups[1].Value}' is not supported; expected float32 ('<f4')");
        if (FortranRegex().Match(header) is { Success: true } fo && fo.Groups[1].Value == "True")
            throw new DataFormatException(path, "Fortran-ordered .npy is not supported; expected C order");
        var shape = ShapeRegex().Match(header);
        if (!shape.Success) throw new DataFormatException(path, "the .npy header has no 'shape'");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (dims.Length != 2 || !long.TryParse(dims[0], out long rows) || !int.TryParse(dims[1], out int cols) || rows < 0 || cols <= 0)
            throw new DataFormatException(path, $"shape ({shape.Groups[1].Value}) is not supported; expected a 2-d matrix (rows, cols)");
        long expected = dataStart + rows * cols * 4L;
        if (s.Length < expected)
            throw new DataFormatException(path, $"truncated: the header says shape ({rows}, {cols}) = {expected} bytes but the file has {s.Length}");
        if (s.Length > expected)
            throw new DataFormatException(path, $"the file has {s.Length - expected} bytes more than its header's shape ({rows}, {cols}) implies");
        return (rows, cols, dataStart);
    }

    internal static byte[] BuildHeader(long rows, int cols)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}";
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        string header = dict + new string(' ', pad) + "\n";
        var bytes = new byte[10 + header.Length];
        Magic.CopyTo(bytes);
        bytes[6] = 1; bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), checked((ushort)header.Length));
        Encoding.Latin1.GetBytes(header, bytes.AsSpan(10));
        return bytes;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")] private static partial Regex DescrRegex();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")] private static partial Regex FortranRegex();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")] private static partial Regex ShapeRegex();
}

/// <summary>Streams the rows of a float32 <c>.npy</c> matrix.</summary>
public sealed class NpyReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly long _dataOffset;

    public string Path { get; }
    public long Rows { get; }
    public int Cols { get; }

    internal NpyReader(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        try { (Rows, Cols, _dataOffset) = NpyFile.ReadHeader(_stream, path); }
        catch { _stream.Dispose(); throw; }
    }

    /// <summary>Reads rows <c>[firstRow, firstRow + dest.Length / Cols)</c> into <paramref name="dest"/> (row-major).</summary>
    public void ReadRows(long firstRow, Span<float> dest)
    {
        if (dest.Length % Cols != 0) throw new ArgumentException($"destination length {dest.Length} is not a multiple of {Cols} columns", nameof(dest));
        long n = dest.Length / Cols;
        if (firstRow < 0 || firstRow + n > Rows) throw new ArgumentOutOfRangeException(nameof(firstRow));
        _stream.Position = _dataOffset + firstRow * Cols * 4L;
        _stream.ReadExactly(MemoryMarshal.AsBytes(dest));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
    }

    /// <summary>
    /// Reads rows like <see cref="ReadRows"/> and refuses values float32 training cannot use
    /// (<see cref="FeatureCheck"/>: NaN, infinite, or a row norm above 2⁶⁰), naming the row and column.
    /// </summary>
    public void ReadRowsChecked(long firstRow, Span<float> dest)
    {
        ReadRows(firstRow, dest);
        if (FeatureCheck.Problem(dest, Cols, firstRow) is { } problem) throw new DataFormatException(Path, problem);
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>Writes a float32 <c>.npy</c> matrix row block by row block; the shape is fixed up front.</summary>
public sealed class NpyWriter : IDisposable
{
    private readonly FileStream _stream;
    private long _written;

    public long Rows { get; }
    public int Cols { get; }

    internal NpyWriter(string path, long rows, int cols)
    {
        Rows = rows; Cols = cols;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        _stream.Write(NpyFile.BuildHeader(rows, cols));
    }

    public void WriteRows(ReadOnlySpan<float> rows)
    {
        if (rows.Length % Cols != 0) throw new ArgumentException($"length {rows.Length} is not a multiple of {Cols} columns", nameof(rows));
        _written += rows.Length / Cols;
        if (_written > Rows) throw new InvalidOperationException($"more than the declared {Rows} rows written");
        _stream.Write(MemoryMarshal.AsBytes(rows));
    }

    /// <summary>Flushes to disk; throws if fewer rows than declared were written.</summary>
    public void Complete()
    {
        if (_written != Rows) throw new InvalidOperationException($"{_written} rows written, {Rows} declared");
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();
}
