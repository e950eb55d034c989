namespace Alpine.Serving;

/// <summary>
/// A request the served model cannot answer as asked: <see cref="Field"/> names the input at fault (a JSON field
/// name, as the HTTP layer reports it), <see cref="NotFound"/> says it names a user or item that does not exist.
/// </summary>
public sealed class ServingInputException(string field, string message, bool notFound = false) : Exception(message)
{
    public string Field { get; } = field;
    public bool NotFound { get; } = notFound;
}
