using System.Text;

namespace Alpine.Data;

/// <summary>
/// Text from a user's file made safe to print in a one-line error: a binary file must not put NULs, escape
/// sequences or line breaks on the terminal. Control characters become <c>\xNN</c> (<c>\uNNNN</c> above
/// 0xFF), bytes that are not UTF-8 become <c>\xNN</c>, and long text is cut with an ellipsis.
/// </summary>
public static class Printable
{
    /// <summary>At most <paramref name="max"/> characters of <paramref name="text"/>, escaped.</summary>
    public static string Quote(string text, int max = 40)
    {
        var sb = new StringBuilder(Math.Min(text.Length, max) + 8);
        foreach (char c in text)
        {
            if (sb.Length >= max) return sb.Append('…').ToString();
            Append(sb, c);
        }
        return sb.ToString();
    }

    /// <summary>At most <paramref name="max"/> characters of the UTF-8 <paramref name="bytes"/>, escaped (invalid bytes as <c>\xNN</c>).</summary>
    public static string Quote(ReadOnlySpan<byte> bytes, int max = 40)
    {
        var sb = new StringBuilder(Math.Min(bytes.Length, max) + 8);
        while (!bytes.IsEmpty)
        {
            if (sb.Length >= max) return sb.Append('…').ToString();
            if (System.Text.Rune.DecodeFromUtf8(bytes, out var rune, out int used) == System.Buffers.OperationStatus.Done)
            {
                if (rune.IsBmp) Append(sb, (char)rune.Value);
                else sb.Append(rune.ToString());
            }
            else sb.Append($"\\x{bytes[0]:X2}");
            bytes = bytes[Math.Max(used, 1)..];
        }
        return sb.ToString();
    }

    /// <summary>Escapes only the control characters of a whole message (it stays one line).</summary>
    public static string Escape(string text)
    {
        foreach (char c in text)
            if (char.IsControl(c)) return Quote(text, int.MaxValue);
        return text;
    }

    private static void Append(StringBuilder sb, char c)
    {
        if (!char.IsControl(c) && !char.IsSurrogate(c)) sb.Append(c);
        else if (c <= 0xFF) sb.Append($"\\x{(int)c:X2}");
        else sb.Append($"\\u{(int)c:X4}");
    }
}
