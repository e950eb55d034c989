using Microsoft.AspNetCore.Http;

namespace Alpine.Serve;

/// <summary>RFC 7807 problem responses: the status, a title, the message as detail and the field at fault.</summary>
internal static class Problems
{
    public static IResult Of(int status, string field, string detail) => Results.Problem(
        detail: detail, statusCode: status, title: status switch
        {
            404 => "not found",
            413 => "body too large",
            _ => "bad request",
        },
        extensions: new Dictionary<string, object?> { ["field"] = field });
}
