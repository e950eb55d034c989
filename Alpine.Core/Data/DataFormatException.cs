namespace Alpine.Data;

/// <summary>
/// Bad input from a user: names the file, the line (1-based, 0 when the whole file is at fault)
/// and what was expected. The CLI prints <see cref="Exception.Message"/> alone and exits with code 2.
/// </summary>
public sealed class DataFormatException : Exception
{
    public string File { get; }
    public long Line { get; }

    public DataFormatException(string file, long line, string problem, Exception? inner = null)
        : base(Format(file, line, problem), inner)
    {
        File = file;
        Line = line;
    }

    public DataFormatException(string file, string problem, Exception? inner = null)
        : this(file, 0, problem, inner) { }

    /// <summary>One line whatever the file held: control characters are escaped (<see cref="Printable"/>).</summary>
    private static string Format(string file, long line, string problem) =>
        Printable.Escape(line > 0 ? $"{file}:{line}: {problem}" : $"{file}: {problem}");
}
