using System.Globalization;
using Alpine.Data;

namespace Alpine.Cli;

/// <summary>
/// Parsed <c>--name value</c> / <c>--flag</c> options and positional arguments of one command.
/// Every option a command reads is declared by reading it; <see cref="EnsureAllUsed"/> then refuses the rest,
/// so a misspelt option is an error, never silently ignored.
/// </summary>
public sealed class Options
{
    private readonly Dictionary<string, string?> _named = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    // Where each option's value stood in the arguments, and which were written --name=value.
    private readonly Dictionary<string, int> _valueAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _withEquals = new(StringComparer.Ordinal);
    // Positional arguments with their index in the arguments: a value a flag swallowed goes back in its place.
    private readonly List<(int At, string Value)> _positional = [];

    /// <summary>The positional arguments in the order given, wherever flags stood among them.</summary>
    public IReadOnlyList<string> Positional => _positional.OrderBy(p => p.At).Select(p => p.Value).ToList();
    public string Command { get; }

    public Options(string command, IEnumerable<string> args)
    {
        Command = command;
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                string name = a[2..];
                string? value = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; _withEquals.Add(name); }
                else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) value = list[++i];
                if (_named.ContainsKey(name)) throw new UsageException($"option --{name} is given twice");
                _named[name] = value;
                _valueAt[name] = i;
            }
            else _positional.Add((i, a));
        }
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_named.TryGetValue(name, out var v)) return false;
        if (_withEquals.Contains(name)) throw new UsageException($"option --{name} is a flag and takes no value, got '{v}'");
        // A flag takes no value: what followed it was positional, at the place it was given.
        if (v is not null) _positional.Add((_valueAt[name], v));
        return true;
    }

    public string? String(string name)
    {
        _used.Add(name);
        if (!_named.TryGetValue(name, out var v)) return null;
        return v ?? throw new UsageException($"option --{name} needs a value");
    }

    public string Required(string name, string what) =>
        String(name) ?? throw new UsageException($"option --{name} is required ({what})");

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = String(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new UsageException($"option --{name} expects a whole number{Range(min, max)}, got '{s}'");
        return v;
    }

    public float Float(string name, float fallback, float min = float.NegativeInfinity, bool exclusiveMin = false)
    {
        string? s = String(name);
        if (s is null) return fallback;
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v) || v < min || (exclusiveMin && v == min))
            throw new UsageException($"option --{name} expects a number{(exclusiveMin ? " greater than " : " of at least ")}{min.ToString(CultureInfo.InvariantCulture)}, got '{s}'");
        return v;
    }

    public T Enum<T>(string name, T fallback, params (string Word, T Value)[] choices)
    {
        string? s = String(name);
        if (s is null) return fallback;
        foreach (var (w, v) in choices) if (string.Equals(w, s, StringComparison.OrdinalIgnoreCase)) return v;
        throw new UsageException($"option --{name} expects one of {string.Join("|", choices.Select(c => c.Word))}, got '{s}'");
    }

    /// <summary>Refuses options no one read and surplus positional arguments.</summary>
    public void EnsureAllUsed(int maxPositional = 0)
    {
        foreach (var k in _named.Keys)
            if (!_used.Contains(k)) throw new UsageException($"unknown option --{k} (see 'alpine help')");
        if (Positional.Count > maxPositional)
            throw new UsageException($"unexpected argument '{Positional[maxPositional]}'");
    }

    private static string Range(int min, int max) =>
        (min, max) switch
        {
            (int.MinValue, int.MaxValue) => "",
            (_, int.MaxValue) => $" of at least {min}",
            _ => $" from {min} to {max}",
        };
}
