namespace Alpine.Cli;

/// <summary>One <c>alpine</c> sub-command. Found by reflection, so adding a command is adding a file.</summary>
public interface ICommand
{
    string Name { get; }
    /// <summary>One line: the synopsis shown by <c>alpine help</c>.</summary>
    string Usage { get; }
    /// <summary>Position in <c>alpine help</c>.</summary>
    int Order { get; }
    /// <summary>Runs the command; user errors are thrown as <see cref="Data.UsageException"/> or <see cref="Data.DataFormatException"/>.</summary>
    int Run(Options options);
}
