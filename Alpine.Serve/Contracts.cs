namespace Alpine.Serve;

// The JSON bodies of the API (camelCase on the wire); the requests are read field by field (RequestBody) and
// are declared here for the OpenAPI document.

/// <summary>POST /v1/score: the user's p(click) of each item, in input order.</summary>
public sealed record ScoreRequest(int User, int[] Items);
/// <summary>POST /v1/recommend: the k best candidates (absent: every item the user has not been shown).</summary>
public sealed record RecommendRequest(int User, int K, int[]? Candidates);
/// <summary>POST /v1/route: the k users (absent: all) most likely to click a new item, given by id or raw features
/// (thacil: and its category).</summary>
public sealed record RouteRequest(int K, int? Item, float[]? Features, int? Category, int[]? Users);
/// <summary>POST /v1/observe: one impression; answered once it is on disk.</summary>
public sealed record ObserveRequest(int User, int Item, long Timestamp, bool Click);

public sealed record ItemScore(int Item, float Probability);
public sealed record UserScore(int User, float Probability);
public sealed record ScoreResponse(int User, ItemScore[] Scores);
public sealed record RecommendResponse(int User, ItemScore[] Items);
public sealed record RouteResponse(UserScore[] Users);
public sealed record ObserveResponse(int User, long Observed);
public sealed record InfoResponse(string Model, string DataFingerprint, string Profile, string Variant, int Users, int Items,
    int PreparedImpressions, long Observed, int Window, int Hidden, int RawFeatureDim, string? ServingDir);
