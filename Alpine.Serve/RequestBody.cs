using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Alpine.Serve;

/// <summary>A request the server refuses before the model sees it: the HTTP status and the field at fault.</summary>
public sealed class BadRequestException(int status, string field, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Field { get; } = field;
}

/// <summary>
/// A JSON request body read field by field, so every refusal names its field (RFC 7807 problem bodies,
/// <see cref="Problems"/>): a missing field, a value of the wrong type or out of range, a non-finite number.
/// </summary>
internal sealed class RequestBody
{
    /// <summary>The most bytes a body may have (100,000 candidate ids fit with room to spare).</summary>
    public const int MaxBytes = 4 << 20;

    private readonly JsonElement _root;

    private RequestBody(JsonElement root) => _root = root;

    /// <summary>Reads the whole body (at most <see cref="MaxBytes"/>) and parses it as one JSON object.</summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes)
            throw new BadRequestException(StatusCodes.Status413PayloadTooLarge, "body", $"the body has {request.ContentLength} bytes; at most {MaxBytes} are read");
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int got;
        while ((got = await Read(request, chunk, ct)) > 0)
        {
            if (buffer.Length + got > MaxBytes)
                throw new BadRequestException(StatusCodes.Status413PayloadTooLarge, "body", $"the body is longer than {MaxBytes} bytes");
            buffer.Write(chunk, 0, got);
        }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e)
        {
            throw new BadRequestException(StatusCodes.Status400BadRequest, "body", $"the body is not valid JSON: {e.Message}");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new BadRequestException(StatusCodes.Status400BadRequest, "body", $"the body must be a JSON object, got {doc.RootElement.ValueKind}");
        return new RequestBody(doc.RootElement.Clone());
    }

    /// <summary>
    /// The next bytes of the body; Kestrel's own refusals while it reads (a body past its limit with no length
    /// announced, a malformed chunk) become refusals of the field "body", with their status.
    /// </summary>
    private static async Task<int> Read(HttpRequest request, byte[] chunk, CancellationToken ct)
    {
        try { return await request.Body.ReadAsync(chunk, ct); }
        catch (BadHttpRequestException e)
        {
            throw new BadRequestException(e.StatusCode, "body", e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"the body is longer than {MaxBytes} bytes" : $"the body could not be read: {e.Message}");
        }
    }

    public bool Has(string name) => _root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public int Int(string name, int min = 0, int max = int.MaxValue) => Int(Required(name), name, min, max);

    public int? OptionalInt(string name, int min = 0, int max = int.MaxValue) => Has(name) ? Int(name, min, max) : null;

    public long Long(string name)
    {
        var v = Required(name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x))
            throw Bad(name, $"{name} must be a whole number, got {Show(v)}");
        return x;
    }

    public bool Bool(string name)
    {
        var v = Required(name);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(name, $"{name} must be true or false, got {Show(v)}"),
        };
    }

    /// <summary>An array of ids (whole numbers ≥ 0); null when absent.</summary>
    public int[]? Ints(string name, bool required = false)
    {
        if (!Has(name)) return required ? throw Bad(name, $"{name} is missing") : null;
        var v = _root.GetProperty(name);
        if (v.ValueKind != JsonValueKind.Array) throw Bad(name, $"{name} must be an array of ids, got {Show(v)}");
        var ids = new int[v.GetArrayLength()];
        int i = 0;
        foreach (var e in v.EnumerateArray()) { ids[i] = Int(e, $"{name}[{i}]", 0, int.MaxValue); i++; }
        return ids;
    }

    /// <summary>An array of finite numbers; null when absent.</summary>
    public float[]? Floats(string name)
    {
        if (!Has(name)) return null;
        var v = _root.GetProperty(name);
        if (v.ValueKind != JsonValueKind.Array) throw Bad(name, $"{name} must be an array of numbers, got {Show(v)}");
        var xs = new float[v.GetArrayLength()];
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double d) || !float.IsFinite((float)d))
                throw Bad(name, $"{name}[{i}] must be a finite number, got {Show(e)}");
            xs[i++] = (float)d;
        }
        return xs;
    }

    private JsonElement Required(string name) =>
        Has(name) ? _root.GetProperty(name) : throw Bad(name, $"{name} is missing");

    private static int Int(JsonElement v, string name, int min, int max)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int x))
            throw Bad(name, $"{name} must be a whole number, got {Show(v)}");
        if (x < min || x > max) throw Bad(name, $"{name} must be from {min} to {max}, got {x}");
        return x;
    }

    private static BadRequestException Bad(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);

    /// <summary>A value as it appeared, cut short for the message.</summary>
    private static string Show(JsonElement v)
    {
        string raw = v.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
