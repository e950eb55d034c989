using System.Globalization;

namespace Alpine.Distributed;

/// <summary>
/// The rank count a run trained with, kept in its checkpoint's device text ("cpu", "cpu, 2 ranks"): how a batch is
/// split across ranks decides the rounding of its gradient, so a run resumes only with the count it trained with.
/// </summary>
public static class RankTag
{
    private const string Suffix = " ranks";

    public static string Tag(string device, int ranks) =>
        ranks == 1 ? device : string.Create(CultureInfo.InvariantCulture, $"{device}, {ranks}{Suffix}");

    /// <summary>The device and the rank count of a tagged device text; untagged text is one rank.</summary>
    public static (string Device, int Ranks) Parse(string tagged)
    {
        int comma = tagged.LastIndexOf(", ", StringComparison.Ordinal);
        if (comma >= 0 && tagged.EndsWith(Suffix, StringComparison.Ordinal)
            && int.TryParse(tagged.AsSpan(comma + 2, tagged.Length - comma - 2 - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 1)
            return (tagged[..comma], n);
        return (tagged, 1);
    }
}
