using System.Runtime.CompilerServices;
using System.Text;

namespace Alpine.Data;

/// <summary>
/// Reads a comma-separated file line by line as raw bytes (no strings per line, no Split, no Regex):
/// the native and imported CSVs are tens of millions of rows (the target: ≥ 1M rows/s).
/// Accepts <c>\n</c> and <c>\r\n</c>, a trailing newline or none, a UTF-8 byte-order mark; blank lines
/// carry nothing and are skipped. Every error names the file and the 1-based line.
/// </summary>
internal sealed class CsvLines : IDisposable
{
    private readonly FileStream _stream;
    private byte[] _buf = new byte[1 << 20];
    private int _start, _end;
    private bool _eof;
    private readonly CancellationToken _ct;

    /// <summary>The longest line read: far above any real row, and a binary file without newlines stops here.</summary>
    public const int MaxLineBytes = 16 << 20;

    public string Path { get; }
    /// <summary>1-based number of the line last returned (the header is line 1).</summary>
    public long Line { get; private set; }
    /// <summary>The header the caller expects, quoted in column-count errors.</summary>
    public string Header { get; private set; } = "";
    public int Columns { get; private set; }

    /// <summary>Opens <paramref name="path"/>; <paramref name="ct"/> is checked once per MiB read.</summary>
    public CsvLines(string path, CancellationToken ct = default)
    {
        Path = path;
        _ct = ct;
        try { _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "no such file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DataFormatException(path, "cannot be read (a folder, or no permission); expected a CSV file", e);
        }
    }

    /// <summary>Size of the file in bytes (used to guess row counts up front).</summary>
    public long Length => _stream.Length;

    /// <summary>
    /// Reads line 1 and checks it is one of <paramref name="headers"/> (compared byte for byte).
    /// Returns the index of the header found.
    /// </summary>
    public int ReadHeader(params string[] headers)
    {
        string expected = string.Join("' or '", headers);
        if (!TryReadLine(out var line))
            throw new DataFormatException(Path, $"the file is empty; expected the header '{expected}'");
        if (Line != 1)
            throw new DataFormatException(Path, Line, $"expected the header '{expected}' on line 1, found a blank line first");
        if (line.StartsWith("\uFEFF"u8)) line = line[3..];
        for (int i = 0; i < headers.Length; i++)
        {
            if (line.SequenceEqual(Encoding.ASCII.GetBytes(headers[i])))
            {
                Header = headers[i];
                Columns = line.Count((byte)',') + 1;
                return i;
            }
        }
        throw new DataFormatException(Path, 1, $"wrong or missing header '{Printable.Quote(line, 60)}'; expected '{expected}'");
    }

    /// <summary>The next non-blank line without its line ending; false at the end of the file.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            int stop;
            if (nl >= 0) stop = _start + nl;
            else if (!_eof) { Fill(); continue; }
            else if (_start < _end) stop = _end; // last line without a newline
            else { line = default; return false; }

            Line++;
            var l = _buf.AsSpan(_start, stop - _start);
            _start = Math.Min(stop + 1, _end);
            if (l.Length > 0 && l[^1] == (byte)'\r') l = l[..^1];
            if (l.IsEmpty) continue;
            line = l;
            return true;
        }
    }

    /// <summary>Moves the unread tail to the front and reads more; grows the buffer for a line longer than it.</summary>
    private void Fill()
    {
        _ct.ThrowIfCancellationRequested();
        int rest = _end - _start;
        if (rest == _buf.Length)
        {
            if (_buf.Length >= MaxLineBytes)
                throw new DataFormatException(Path, Line + 1, $"a line longer than {MaxLineBytes >> 20} MiB; expected a CSV file of short lines (is it a binary file?)");
            Array.Resize(ref _buf, _buf.Length * 2);
        }
        Buffer.BlockCopy(_buf, _start, _buf, 0, rest);
        _start = 0;
        _end = rest;
        int got = _stream.Read(_buf, _end, _buf.Length - _end);
        if (got == 0) _eof = true;
        _end += got;
    }

    /// <summary>The fields of one data line, read left to right, after checking their count.</summary>
    public CsvRow Row(ReadOnlySpan<byte> line)
    {
        // Counting first (vectorised) makes a short row a column-count error, not a misread neighbour field.
        if (line.Count((byte)',') != Columns - 1) throw ColumnCountError(line);
        return new(this, line);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private DataFormatException ColumnCountError(ReadOnlySpan<byte> line) =>
        new(Path, Line, $"{line.Count((byte)',') + 1} columns; expected {Columns} ({Header})");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public DataFormatException FieldError(string column, ReadOnlySpan<byte> field, string problem) =>
        new(Path, Line, $"{column} '{Printable.Quote(field)}' {problem}");

    public DataFormatException Error(string problem) => new(Path, Line, problem);

    public void Dispose() => _stream.Dispose();
}

/// <summary>Parses the comma-separated fields of one line in order; each parse names its column in errors.</summary>
internal ref struct CsvRow(CsvLines source, ReadOnlySpan<byte> line)
{
    private ReadOnlySpan<byte> _rest = line;

    /// <summary>The next field as raw bytes (the column count was checked by <see cref="CsvLines.Row"/>).</summary>
    public ReadOnlySpan<byte> Next()
    {
        int comma = _rest.IndexOf((byte)',');
        ReadOnlySpan<byte> f;
        if (comma < 0) { f = _rest; _rest = default; }
        else { f = _rest[..comma]; _rest = _rest[(comma + 1)..]; }
        return f;
    }

    /// <summary>A whole number in <c>[0, max]</c>.</summary>
    public long NonNegative(string column, long max)
    {
        var f = Next();
        if (f.IsEmpty) throw source.FieldError(column, f, "is empty; expected a whole number");
        ulong v = 0;
        for (int i = 0; i < f.Length; i++)
        {
            uint d = (uint)(f[i] - (byte)'0');
            if (d > 9) throw BadNumber(column, f);
            v = v * 10 + d;
            if (v > (ulong)max) throw source.FieldError(column, f, $"overflows; expected at most {max}");
        }
        return (long)v;
    }

    /// <summary>A dense id: a whole number in <c>[0, int.MaxValue]</c>.</summary>
    public int Id(string column) => (int)NonNegative(column, int.MaxValue);

    /// <summary>A signed 64-bit whole number (timestamps).</summary>
    public long Long(string column)
    {
        var f = Next();
        bool neg = f.Length > 0 && f[0] == (byte)'-';
        var digits = neg ? f[1..] : f;
        if (digits.IsEmpty) throw source.FieldError(column, f, "is empty; expected a whole number");
        ulong v = 0;
        ulong limit = neg ? (ulong)long.MaxValue + 1 : long.MaxValue;
        for (int i = 0; i < digits.Length; i++)
        {
            uint d = (uint)(digits[i] - (byte)'0');
            if (d > 9) throw source.FieldError(column, f, "is not a whole number");
            if (v > (limit - d) / 10) throw source.FieldError(column, f, "overflows a 64-bit whole number");
            v = v * 10 + d;
        }
        return neg ? (long)(0 - v) : (long)v;
    }

    /// <summary>A 0/1 flag.</summary>
    public bool Bit(string column)
    {
        var f = Next();
        if (f.Length == 1 && (f[0] == (byte)'0' || f[0] == (byte)'1')) return f[0] == (byte)'1';
        throw source.FieldError(column, f, "is not 0 or 1");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly DataFormatException BadNumber(string column, ReadOnlySpan<byte> f)
    {
        bool negative = f.Length > 1 && f[0] == (byte)'-' && f[1..].IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
        return source.FieldError(column, f, negative ? "is negative; expected a whole number ≥ 0" : "is not a whole number");
    }
}
