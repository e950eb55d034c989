using Alpine.Data;
using Spectre.Console;

namespace Alpine.Cli;

public static class Program
{
    /// <summary>The commands: every <see cref="ICommand"/> in this assembly (one file each in Commands/).</summary>
    private static readonly ICommand[] Commands = typeof(Program).Assembly.GetTypes()
        .Where(t => typeof(ICommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (ICommand)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Order).ToArray();

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            PrintHelp();
            return args.Length == 0 ? 2 : 0;
        }
        var cmd = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (cmd is null)
        {
            Console.Error.WriteLine($"alpine: unknown command '{args[0]}' (expected one of {string.Join(", ", Commands.Select(c => c.Name))})");
            return 2;
        }
        return Run(cmd.Name, args[1..], cmd.Run);
    }

    /// <summary>Runs one command, turning user errors into a one-line message and exit code 2.</summary>
    public static int Run(string name, string[] args, Func<Options, int> run)
    {
        try
        {
            return run(new Options(name, args));
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
            return 130;
        }
    }

    private static void PrintHelp()
    {
        AnsiConsole.MarkupLine("[bold]alpine[/] — ALPINE micro-video routing (Li et al., ACM MM 2019)");
        foreach (var c in Commands) AnsiConsole.MarkupLine($"  [green]{c.Name,-10}[/] {Markup.Escape(c.Usage)}");
    }
}
