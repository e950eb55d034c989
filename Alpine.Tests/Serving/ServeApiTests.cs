using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Alpine.Serve;
using Alpine.Serving;

namespace Alpine.Tests.Serving;

/// <summary>Every endpoint and every class of bad input through the real HTTP stack (the test server).</summary>
[TestFixture]
public class ServeApiTests
{
    private AlpineModel _model = null!;
    private ServeFactory _factory = null!;
    private HttpClient _client = null!;
    private string _dir = "";

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        _dir = TestDirs.Create();
        _model = ServedModels.Create(servingDir: Path.Combine(_dir, "serving"));
        _factory = new ServeFactory(_model);
        _client = _factory.CreateClient();
    }

    [OneTimeTearDown]
    public void OneTimeTearDown()
    {
        _client.Dispose();
        _factory.Dispose();
        _model.Dispose();
        TestDirs.Delete(_dir);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task<JsonElement> Ok(string path, string body)
    {
        var r = await _client.PostAsync(path, Json(body));
        string text = await r.Content.ReadAsStringAsync();
        Assert.That(r.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>
    /// A fault of the server's own (here an observe after the model and its journal were closed underneath it) answers
    /// 500 with a problem body that says the fault is the server's and names no field, and the server keeps answering.
    /// </summary>
    [Test]
    public async Task AServerFaultAnswers500WithAProblemBody()
    {
        string dir = Path.Combine(_dir, "fault");
        var model = ServedModels.Create(servingDir: dir);
        using var factory = new ServeFactory(model);
        using var client = factory.CreateClient();
        model.Dispose();
        var r = await client.PostAsync("/v1/observe", Json($$"""{"user":1,"item":2,"timestamp":{{long.MaxValue - 1}},"click":true}"""));
        string text = await r.Content.ReadAsStringAsync();
        Assert.That((int)r.StatusCode, Is.EqualTo(500), text);
        Assert.That(r.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), text);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(500));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("the server failed on this request"));
        Assert.That(problem.TryGetProperty("field", out _), Is.False, "a server fault names no request field");
        Assert.That(await client.GetStringAsync("/healthz"), Is.EqualTo("ok"));
    }

    [Test]
    public async Task HealthInfoMetricsAndTheOpenApiDocumentAnswer()
    {
        Assert.That(await _client.GetStringAsync("/healthz"), Is.EqualTo("ok"));
        var info = await _client.GetFromJsonAsync<JsonElement>("/v1/info");
        Assert.That(info.GetProperty("users").GetInt32(), Is.EqualTo(_model.UserCount));
        Assert.That(info.GetProperty("items").GetInt32(), Is.EqualTo(_model.ItemCount));
        Assert.That(info.GetProperty("dataFingerprint").GetString(), Is.EqualTo("tiny"));
        Assert.That(info.GetProperty("rawFeatureDim").GetInt32(), Is.EqualTo(Alpine.Tests.Train.TinyData.FeatureDim));
        await Ok("/v1/score", """{"user":1,"items":[2]}""");
        string metrics = await _client.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("http_requests_received_total").And.Contain("http_request_duration_seconds_bucket").And.Contain("/v1/score"));
        string openapi = await _client.GetStringAsync("/openapi/v1.json");
        foreach (string path in new[] { "/v1/score", "/v1/recommend", "/v1/route", "/v1/observe", "/v1/info", "/healthz" })
            Assert.That(openapi, Does.Contain($"\"{path}\""));
    }

    [Test]
    public async Task ScoreRecommendAndRouteAnswerWhatTheModelDoes()
    {
        var score = await Ok("/v1/score", """{"user":2,"items":[3,17,0]}""");
        var expected = _model.Score(2, [3, 17, 0]);
        var got = score.GetProperty("scores").EnumerateArray().ToArray();
        Assert.That(got.Select(s => s.GetProperty("item").GetInt32()), Is.EqualTo(new[] { 3, 17, 0 }));
        Assert.That(got.Select(s => s.GetProperty("probability").GetSingle()), Is.EqualTo(expected));

        var rec = await Ok("/v1/recommend", """{"user":2,"k":2,"candidates":[3,17,0]}""");
        Assert.That(rec.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("item").GetInt32()),
            Is.EqualTo(_model.Recommend(2, [3, 17, 0], 2).Select(r => r.Item)));
        var unseen = await Ok("/v1/recommend", """{"user":2,"k":5}""");
        Assert.That(unseen.GetProperty("items").GetArrayLength(), Is.EqualTo(5));

        var route = await Ok("/v1/route", """{"item":17,"k":3}""");
        Assert.That(route.GetProperty("users").EnumerateArray().Select(s => s.GetProperty("user").GetInt32()),
            Is.EqualTo(_model.Route(17, null, 3).Select(r => r.User)));
        string features = string.Join(",", Alpine.Tests.Train.TinyData.Features(5).Skip(17 * 8).Take(8).Select(f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var byVector = await Ok("/v1/route", $$"""{"features":[{{features}}],"k":3,"users":[0,1,2,3,4,5]}""");
        Assert.That(byVector.GetProperty("users").EnumerateArray().Select(s => s.GetProperty("user").GetInt32()),
            Is.EqualTo(_model.Route(17, null, 3).Select(r => r.User)));
    }

    [Test]
    public async Task ObserveIsAcknowledgedAndMovesTheUsersScores()
    {
        long before = _model.ObservedCount;
        var p0 = _model.Score(4, [9])[0];
        long ts = ServedModels.After(_model.Data) + 5_000_000;
        var r = await Ok("/v1/observe", $$"""{"user":4,"item":9,"timestamp":{{ts}},"click":true}""");
        Assert.That(r.GetProperty("observed").GetInt64(), Is.EqualTo(before + 1));
        Assert.That(_model.Score(4, [9])[0], Is.Not.EqualTo(p0));
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        TestCaseData Case(string name, string path, string body, int status, string field) =>
            new TestCaseData(path, body, status, field).SetName($"Refuses{name}");
        yield return Case("MalformedJson", "/v1/score", """{"user":1,""", 400, "body");
        yield return Case("ANonObjectBody", "/v1/score", "[1,2]", 400, "body");
        yield return Case("AnEmptyBody", "/v1/observe", "", 400, "body");
        yield return Case("AMissingField", "/v1/score", """{"items":[1]}""", 400, "user");
        yield return Case("AMissingArray", "/v1/score", """{"user":1}""", 400, "items");
        yield return Case("AWrongType", "/v1/score", """{"user":"1","items":[1]}""", 400, "user");
        yield return Case("AFractionalId", "/v1/score", """{"user":1.5,"items":[1]}""", 400, "user");
        yield return Case("AWrongTypeInAnArray", "/v1/score", """{"user":1,"items":[1,"x"]}""", 400, "items[1]");
        yield return Case("ANonArray", "/v1/recommend", """{"user":1,"k":2,"candidates":7}""", 400, "candidates");
        yield return Case("ANegativeId", "/v1/score", """{"user":-1,"items":[1]}""", 400, "user");
        yield return Case("AnUnknownUserInScore", "/v1/score", """{"user":999,"items":[1]}""", 404, "user");
        yield return Case("AnUnknownUserInRecommend", "/v1/recommend", """{"user":999,"k":3}""", 404, "user");
        yield return Case("AnUnknownUserInObserve", "/v1/observe", """{"user":999,"item":1,"timestamp":99999999,"click":true}""", 404, "user");
        yield return Case("AnUnknownItem", "/v1/score", """{"user":1,"items":[1,4000]}""", 404, "items");
        yield return Case("AnUnknownItemInRoute", "/v1/route", """{"item":4000,"k":3}""", 404, "item");
        yield return Case("AnUnknownUserInRoute", "/v1/route", """{"item":1,"k":3,"users":[0,999]}""", 404, "users");
        yield return Case("KZero", "/v1/recommend", """{"user":1,"k":0}""", 400, "k");
        yield return Case("KNegative", "/v1/route", """{"item":1,"k":-3}""", 400, "k");
        yield return Case("KHuge", "/v1/route", """{"item":1,"k":1000000000}""", 400, "k");
        yield return Case("DuplicateCandidates", "/v1/recommend", """{"user":1,"k":2,"candidates":[3,4,3]}""", 400, "candidates");
        yield return Case("DuplicateUsers", "/v1/route", """{"item":1,"k":2,"users":[3,3]}""", 400, "users");
        yield return Case("ANaNLiteral", "/v1/route", """{"k":2,"features":[NaN,1,1,1,1,1,1,1]}""", 400, "body");
        yield return Case("ANaNString", "/v1/route", """{"k":2,"features":["NaN",1,1,1,1,1,1,1]}""", 400, "features");
        yield return Case("AnOverflowingFeature", "/v1/route", """{"k":2,"features":[1e39,1,1,1,1,1,1,1]}""", 400, "features");
        yield return Case("AWrongFeatureLength", "/v1/route", """{"k":2,"features":[1,2,3]}""", 400, "features");
        yield return Case("BothItemAndFeatures", "/v1/route", """{"k":2,"item":1,"features":[1,1,1,1,1,1,1,1]}""", 400, "item");
        yield return Case("NeitherItemNorFeatures", "/v1/route", """{"k":2}""", 400, "item");
        yield return Case("AnEarlierTimestamp", "/v1/observe", """{"user":1,"item":1,"timestamp":-5,"click":true}""", 400, "timestamp");
        yield return Case("ANonBooleanClick", "/v1/observe", """{"user":1,"item":1,"timestamp":99999999,"click":1}""", 400, "click");
    }

    [TestCaseSource(nameof(BadRequests))]
    public async Task BadInputIsA4xxProblemNamingTheField(string path, string body, int status, string field)
    {
        long observed = _model.ObservedCount;
        var r = await _client.PostAsync(path, Json(body));
        await AssertProblem(r, status, field);
        Assert.That(_model.ObservedCount, Is.EqualTo(observed), "nothing refused is observed");
    }

    [Test]
    public async Task AnOversizeBodyIs413()
    {
        var huge = new StringBuilder("""{"user":1,"items":[""");
        while (huge.Length < RequestBody.MaxBytes + 10) huge.Append("1,");
        huge.Append("1]}");
        await AssertProblem(await _client.PostAsync("/v1/score", Json(huge.ToString())), 413, "body");
    }

    [Test]
    public async Task ABodyThatIsNotJsonIs415()
    {
        var r = await _client.PostAsync("/v1/score", new StringContent("""{"user":1,"items":[1]}""", Encoding.UTF8, "text/plain"));
        await AssertProblem(r, 415, "body");
    }

    private static async Task AssertProblem(HttpResponseMessage r, int status, string field)
    {
        string text = await r.Content.ReadAsStringAsync();
        Assert.That((int)r.StatusCode, Is.EqualTo(status), text);
        Assert.That(r.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(status));
        Assert.That(problem.GetProperty("field").GetString(), Is.EqualTo(field), text);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(field.Split('[')[0]).IgnoreCase.Or.Contain("body").Or.Contain("JSON"));
    }

    [Test]
    public async Task ConcurrentClientsRouteWholeStatesWhileOneUserIsObserved()
    {
        int user = 5, item = 23;
        var possible = new System.Collections.Concurrent.ConcurrentDictionary<float, bool>();
        possible[_model.Route(item, [user], 1)[0].Probability] = true;
        var seen = new System.Collections.Concurrent.ConcurrentBag<float>();
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 60; i++)
            {
                var r = await Ok("/v1/route", $$"""{"item":{{item}},"k":100}""");
                seen.Add(r.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("user").GetInt32() == user).GetProperty("probability").GetSingle());
            }
        })).ToArray();
        long ts = ServedModels.After(_model.Data) + 10_000_000;
        var rng = new Random(2);
        var writer = Task.Run(async () =>
        {
            for (int i = 0; i < 40; i++)
            {
                var r = await _client.PostAsync("/v1/observe", Json($$"""{"user":{{user}},"item":{{(i * 7) % 40}},"timestamp":{{++ts}},"click":{{(i % 2 == 0 ? "true" : "false")}}}"""));
                Assert.That((int)r.StatusCode, Is.EqualTo(200), await r.Content.ReadAsStringAsync());
                possible[_model.Route(item, [user], 1)[0].Probability] = true;
            }
        });
        await Task.WhenAll([.. readers, writer]);
        Assert.That(seen, Has.Count.EqualTo(180));
        Assert.That(seen.Where(p => !possible.ContainsKey(p)), Is.Empty, "every route read one whole state of the user");
    }
}
