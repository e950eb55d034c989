using System.CommandLine;

namespace Alpine.Cli;

/// <summary>One <c>alpine</c> sub-command. Found by reflection, so adding a command is adding a file.</summary>
public interface ICommand
{
    /// <summary>Its name, one-line description and options (with their defaults): what <c>alpine COMMAND --help</c> prints.</summary>
    Command Definition { get; }
    /// <summary>Position in <c>alpine --help</c>.</summary>
    int Order { get; }
    /// <summary>Runs the command; user errors are thrown as <see cref="Data.UsageException"/> or <see cref="Data.DataFormatException"/>.</summary>
    int Run(ParseResult p);
}
