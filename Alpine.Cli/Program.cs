using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Alpine.Data;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary>
/// The <c>alpine</c> entry point. Options are parsed by System.CommandLine (per-command <c>--help</c> with defaults,
/// <c>--version</c>); every error a user can cause (a bad option, bad data, a path that cannot be written) ends
/// as one line <c>alpine COMMAND: …</c> and exit code 2; Ctrl-C exits 130, SIGTERM 143 (<see cref="CtrlC"/>).
/// </summary>
public static class Program
{
    /// <summary>The commands: every <see cref="ICommand"/> in this assembly (one file each in Commands/).</summary>
    private static ICommand[] CreateCommands() => typeof(Program).Assembly.GetTypes()
        .Where(t => typeof(ICommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (ICommand)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Order).ToArray();

    public static int Main(string[] args)
    {
        // Piped or redirected output is read by scripts: Spectre would wrap every line at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = UnwrappedWidth;
        var root = CreateRoot();
        // `alpine help [COMMAND]` is `alpine [COMMAND] --help`; no arguments at all is help and exit 2.
        if (args.Length == 0) { Invoke(root.Parse(["--help"]), []); return 2; }
        if (args[0] == "help") args = [.. args[1..], "--help"];
        return Invoke(root.Parse(args), args);
    }

    /// <summary>A line width no output reaches: tables keep their natural width, lines never wrap.</summary>
    private const int UnwrappedWidth = 1 << 14;

    private static RootCommand CreateRoot()
    {
        var root = new RootCommand("alpine — ALPINE micro-video routing (Li et al., ACM MM 2019)");
        foreach (var cmd in CreateCommands())
        {
            var c = cmd.Definition;
            c.SetAction(p => Run(c.Name, () => cmd.Run(p)));
            root.Add(c);
        }
        foreach (var help in root.Options.OfType<HelpOption>())
            if (help.Action is HelpAction a && Console.IsOutputRedirected) a.MaxWidth = UnwrappedWidth;
        // This assembly's version, not the host's (SCL reads the entry assembly: a test runner's in tests).
        foreach (var version in root.Options.OfType<VersionOption>()) version.Action = new PrintVersion();
        return root;
    }

    /// <summary>Runs the parsed command, or help/version; a parse error is one line and exit 2.</summary>
    private static int Invoke(ParseResult p, string[] args)
    {
        string name = p.CommandResult.Command is RootCommand ? "alpine" : $"alpine {p.CommandResult.Command.Name}";
        string? error = p.Action is HelpAction ? null
            : FlagWithValue(p.CommandResult.Command, args) ?? (p.Action is ParseErrorAction || p.Errors.Count > 0 ? FirstError(p) : null);
        if (error is not null)
        {
            Console.Error.WriteLine($"{name}: {error}");
            return 2;
        }
        return p.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>
    /// <c>--force=yes</c>: the parser would take "yes" as a positional argument (an import file); said as what it is.
    /// </summary>
    private static string? FlagWithValue(Command command, string[] args)
    {
        foreach (string a in args)
        {
            int eq = a.IndexOf('=');
            if (!a.StartsWith("--", StringComparison.Ordinal) || eq < 0) continue;
            var o = command.Options.FirstOrDefault(o => o.Name == a[..eq]);
            if (o is not null && o.Arity.MaximumNumberOfValues == 0) return $"option {o.Name} is a flag and takes no value, got '{a[(eq + 1)..]}'";
        }
        return null;
    }

    /// <summary>The error to show: a missing required option with what it is, an unknown option by name, else the parser's (or an option's own) message.</summary>
    private static string FirstError(ParseResult p)
    {
        var command = p.CommandResult.Command;
        if (command is RootCommand && p.Tokens.Count > 0 && p.UnmatchedTokens.Count > 0)
            return $"unknown command '{p.UnmatchedTokens[0]}' (expected one of {string.Join(", ", command.Subcommands.Select(c => c.Name))})";
        foreach (var o in command.Options)
            if (o.Required && p.GetResult(o) is not { IdentifierTokenCount: > 0 })
                return $"option {o.Name} is required ({o.Description})";
        if (p.UnmatchedTokens.Count > 0)
        {
            string t = p.UnmatchedTokens[0];
            return t.StartsWith('-')
                ? $"unknown option {t} (see 'alpine {command.Name} --help')"
                : $"unexpected argument '{t}' (see 'alpine {command.Name} --help')";
        }
        return p.Errors[0].Message;
    }

    /// <summary>Runs one command, turning user errors into a one-line message and exit code 2.</summary>
    public static int Run(string name, Func<int> run)
    {
        using var signals = CtrlC.Listen();
        try
        {
            return run();
        }
        catch (Exception e) when (e is DataFormatException or UsageException)
        {
            Console.Error.WriteLine($"alpine {name}: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A path that cannot be read or written (missing, a file where a folder should be, no permission,
            // disk full): the runtime's message names the path; one line, no stack trace.
            Console.Error.WriteLine($"alpine {name}: {e.Message.ReplaceLineEndings(" ")}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"alpine {name}: cancelled");
            return CtrlC.ExitCode;
        }
    }

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult p)
        {
            var assembly = typeof(Program).Assembly;
            Console.WriteLine(assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? assembly.GetName().Version!.ToString());
            return 0;
        }
    }
}
