namespace Alpine.Data;

/// <summary>A bad option or argument given by a user (names the option and what was expected).</summary>
public sealed class UsageException(string message) : Exception(Printable.Escape(message));
