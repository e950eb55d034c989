using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Alpine.Cli;

/// <summary>
/// The kinds of option the commands declare, as System.CommandLine options whose parsers say in one line what
/// was expected: a bad value names the option, the accepted range or words, and what was given. Every option
/// with a default carries it, so <c>alpine COMMAND --help</c> shows it.
/// </summary>
internal static class Opt
{
    /// <summary>A path or other text. <paramref name="required"/> ones are checked by <see cref="Program"/> with <paramref name="description"/> in the message.</summary>
    public static Option<string> Text(string name, string description, bool required = false, string? helpName = null) =>
        new($"--{name}") { Description = description, Required = required, HelpName = helpName ?? Placeholder(name) };

    /// <summary>A flag: present or not; it takes no value (<c>--force=yes</c> is an error).</summary>
    public static Option<bool> Flag(string name, string description) =>
        new($"--{name}")
        {
            Description = description, Arity = ArgumentArity.Zero,
        };

    /// <summary>
    /// A whole number in [<paramref name="min"/>, <paramref name="max"/>]; one beyond Int32 is "out of range", not
    /// "at least min". A null <paramref name="default"/> reads as 0 when absent, a default the description words
    /// ("the item dimension").
    /// </summary>
    public static Option<int> Int(string name, string description, int? @default, int min = int.MinValue, int max = int.MaxValue) =>
        new($"--{name}")
        {
            Description = description, HelpName = "N",
            DefaultValueFactory = @default is int d ? _ => d : null,
            CustomParser = r =>
            {
                string s = Value(r);
                if (!BigInteger.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
                    return Fail<int>(r, $"option --{name} expects a whole number{Range(min, max)}, got '{s}'");
                if (big < int.MinValue || big > int.MaxValue)
                    return Fail<int>(r, $"option --{name}: {s} is out of range; expected a whole number{Range(min, max, always: true)}");
                if (big < min || big > max)
                    return Fail<int>(r, $"option --{name} expects a whole number{Range(min, max)}, got '{s}'");
                return (int)big;
            },
        };

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>], or a word standing for one (<c>--piece random</c>).</summary>
    public static Option<int> IntOrWord(string name, string description, int @default, (string Word, int Value) word, int min, int max) =>
        new($"--{name}")
        {
            Description = description, HelpName = $"N|{word.Word}",
            DefaultValueFactory = _ => @default,
            CustomParser = r =>
            {
                string s = Value(r);
                if (string.Equals(s, word.Word, StringComparison.OrdinalIgnoreCase)) return word.Value;
                return int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
                    ? v
                    : Fail<int>(r, $"option --{name} expects a whole number{Range(min, max)} or '{word.Word}', got '{s}'");
            },
        };

    /// <summary>A finite number checked by <paramref name="ok"/>; <paramref name="expected"/> says what it accepts ("a finite number > 0").</summary>
    public static Option<float> Float(string name, string description, float @default, string expected, Func<float, bool> ok) =>
        new($"--{name}")
        {
            Description = description, HelpName = "X",
            DefaultValueFactory = _ => @default,
            CustomParser = r =>
            {
                string s = Value(r);
                return float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) && ok(v)
                    ? v
                    : Fail<float>(r, $"option --{name} expects {expected}, got '{s}'");
            },
        };

    /// <summary>One of a few words (case-insensitive), each standing for a value: the option holds the word, so help shows the default as the user types it.</summary>
    public static Choice<T> Choice<T>(string name, string description, T @default, params (string Word, T Value)[] choices)
    {
        string words = string.Join("|", choices.Select(c => c.Word));
        var option = new Option<string>($"--{name}")
        {
            Description = description, HelpName = words,
            DefaultValueFactory = _ => choices.First(c => EqualityComparer<T>.Default.Equals(c.Value, @default)).Word,
            CustomParser = r =>
            {
                string s = Value(r);
                foreach (var (w, _) in choices) if (string.Equals(w, s, StringComparison.OrdinalIgnoreCase)) return w;
                return Fail<string>(r, $"option --{name} expects one of {words}, got '{s}'");
            },
        };
        return new Choice<T>(option, choices.ToDictionary(c => c.Word, c => c.Value));
    }

    /// <summary>Whether the user gave <paramref name="option"/> (not its default).</summary>
    public static bool Given(this ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    /// <summary>The value token; SCL has already refused a missing or repeated one (the arity is one).</summary>
    private static string Value(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    private static T Fail<T>(ArgumentResult r, string message)
    {
        r.AddError(message);
        return default!;
    }

    private static string Placeholder(string name) => name switch
    {
        "data" or "out" => "DIR",
        _ => name.ToUpperInvariant(),
    };

    private static string Range(int min, int max, bool always = false) =>
        (min, max) switch
        {
            (int.MinValue, int.MaxValue) => always ? $" from {int.MinValue} to {int.MaxValue}" : "",
            (_, int.MaxValue) => always ? $" from {min} to {int.MaxValue}" : $" of at least {min}",
            _ => $" from {min} to {max}",
        };
}

/// <summary>An option whose value is one of a few words, read back as the value each stands for.</summary>
internal sealed record Choice<T>(Option<string> Option, IReadOnlyDictionary<string, T> Values)
{
    public T Get(ParseResult p) => Values[p.GetValue(Option)!];
    public static implicit operator Option(Choice<T> c) => c.Option;
}
