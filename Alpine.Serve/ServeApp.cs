using Alpine.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Alpine.Serve;

/// <summary>
/// The HTTP API over one <see cref="AlpineModel"/> (docs/ARCHITECTURE.md, "Serving"): JSON endpoints under
/// <c>/v1</c>, <c>/healthz</c>, Prometheus metrics at <c>/metrics</c> and the OpenAPI document at
/// <c>/openapi/v1.json</c>. Refusals are RFC 7807 problem bodies with the field at fault (<see cref="Problems"/>);
/// the model does the concurrency (reads in parallel, observes serialised per user).
/// </summary>
public sealed class ServeApp
{
    /// <summary>The most results one request may ask for (k), and so the most a response carries.</summary>
    public const int MaxK = 10_000;

    /// <summary>The services the endpoints use: the model, problem details, OpenAPI.</summary>
    public static void ConfigureServices(IServiceCollection services, AlpineModel model)
    {
        services.AddSingleton(model);
        // Refusals the framework makes before an endpoint runs (a body that is not JSON: 415) get a problem body too.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            if (c.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && !c.ProblemDetails.Extensions.ContainsKey("field"))
            {
                c.ProblemDetails.Detail ??= "the body must be application/json";
                c.ProblemDetails.Extensions["field"] = "body";
            }
            // A fault of the server's own (UseExceptionHandler): say so, and where the cause is.
            if (c.ProblemDetails.Status == StatusCodes.Status500InternalServerError)
                c.ProblemDetails.Detail ??= "the server failed on this request, not the request itself; the cause is in the server's log";
        });
        services.AddOpenApi();
        services.AddRouting();
    }

    /// <summary>
    /// The pipeline: a fault of the server's own (an exception no endpoint turned into a refusal) becomes a 500 problem
    /// body and is logged, the request's field named by none; metrics around routing; then the endpoints.
    /// </summary>
    public static void Configure(IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseEndpoints(MapEndpoints);
    }

    public static void MapEndpoints(IEndpointRouteBuilder e)
    {
        e.MapGet("/healthz", () => Results.Text("ok")).WithName("health");
        e.MapGet("/v1/info", (AlpineModel m) => Results.Json(Info(m))).WithName("info");
        e.MapPost("/v1/score", (HttpContext c, AlpineModel m) => Handle(c, b =>
        {
            int user = b.Int("user");
            int[] items = b.Ints("items", required: true)!;
            var p = m.Score(user, items);
            return new ScoreResponse(user, [.. items.Select((item, i) => new ItemScore(item, p[i]))]);
        })).WithName("score").Accepts<ScoreRequest>("application/json").Produces<ScoreResponse>().ProducesProblem(400).ProducesProblem(404);
        e.MapPost("/v1/recommend", (HttpContext c, AlpineModel m) => Handle(c, b =>
        {
            int user = b.Int("user"), k = b.Int("k", 1, MaxK);
            var ranked = m.Recommend(user, b.Ints("candidates"), k);
            return new RecommendResponse(user, [.. ranked.Select(r => new ItemScore(r.Item, r.Probability))]);
        })).WithName("recommend").Accepts<RecommendRequest>("application/json").Produces<RecommendResponse>().ProducesProblem(400).ProducesProblem(404);
        e.MapPost("/v1/route", (HttpContext c, AlpineModel m) => Handle(c, b =>
        {
            int k = b.Int("k", 1, MaxK);
            int[]? users = b.Ints("users");
            float[]? features = b.Floats("features");
            if (b.Has("item") == (features is not null))
                throw new BadRequestException(400, "item", "give the new item as exactly one of item (an id) or features (its raw feature vector)");
            var routed = features is null ? m.Route(b.Int("item"), users, k) : m.Route(features, b.OptionalInt("category") ?? -1, users, k);
            return new RouteResponse([.. routed.Select(r => new UserScore(r.User, r.Probability))]);
        })).WithName("route").Accepts<RouteRequest>("application/json").Produces<RouteResponse>().ProducesProblem(400).ProducesProblem(404);
        e.MapPost("/v1/observe", (HttpContext c, AlpineModel m) => Handle(c, b =>
        {
            var o = new Observation(b.Int("user"), b.Int("item"), b.Long("timestamp"), b.Bool("click"));
            m.Observe(o);
            return new ObserveResponse(o.User, m.ObservedCount);
        })).WithName("observe").Accepts<ObserveRequest>("application/json").Produces<ObserveResponse>().ProducesProblem(400).ProducesProblem(404);
        e.MapMetrics("/metrics");
        e.MapOpenApi();
    }

    public static InfoResponse Info(AlpineModel m) => new(
        m.ModelPath, m.Data.Fingerprint, m.Data.Profile.ToString().ToLowerInvariant(), m.Config.Variant.ToString().ToLowerInvariant(),
        m.UserCount, m.ItemCount, m.Data.ImpressionCount, m.ObservedCount, m.Config.Window, m.Config.HiddenSize, m.RawFeatureDim, m.ServingDir);

    /// <summary>Reads the body, runs the request, and turns every refusal into its problem response.</summary>
    private static async Task<IResult> Handle(HttpContext c, Func<RequestBody, object> run)
    {
        try
        {
            var body = await RequestBody.ReadAsync(c.Request, c.RequestAborted);
            return Results.Json(run(body));
        }
        catch (BadRequestException e) { return Problems.Of(e.Status, e.Field, e.Message); }
        catch (ServingInputException e) { return Problems.Of(e.NotFound ? 404 : 400, e.Field, e.Message); }
    }
}
