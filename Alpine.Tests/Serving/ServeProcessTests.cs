using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Alpine.Serve;
using Alpine.Serving;
using Alpine.Tests.Cli;

namespace Alpine.Tests.Serving;

/// <summary><c>alpine serve</c> on real sockets: Kestrel in-process on port 0, and the CLI in its own process, signalled.</summary>
[TestFixture]
public class ServeProcessTests
{
    private string _dir = "", _data = "", _run = "";

    [OneTimeSetUp]
    public void OneTimeSetUp()
    {
        _dir = TestDirs.Create();
        (_data, _run) = ServedRun.Write(_dir);
    }

    [OneTimeTearDown] public void OneTimeTearDown() => TestDirs.Delete(_dir);

    [Test]
    public async Task KestrelOnPortZeroAnswersEveryKindOfRequest()
    {
        using var model = ServedModels.Create();
        await using var app = ServeHost.Build(model, "http://127.0.0.1:0");
        await app.StartAsync();
        string address = ServeHost.Addresses(app).Single();
        Assert.That(address, Does.StartWith("http://127.0.0.1:").And.Not.EndWith(":0"));
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        Assert.That(await client.GetStringAsync("/healthz"), Is.EqualTo("ok"));
        var score = await client.PostAsJsonAsync("/v1/score", new { user = 1, items = new[] { 2, 3 } });
        Assert.That((int)score.StatusCode, Is.EqualTo(200), await score.Content.ReadAsStringAsync());
        var bad = await client.PostAsJsonAsync("/v1/recommend", new { user = 1, k = 0 });
        Assert.That((int)bad.StatusCode, Is.EqualTo(400));
        Assert.That(await bad.Content.ReadAsStringAsync(), Does.Contain("\"field\":\"k\""));
        foreach (var (path, body) in new (string, object)[] { ("/v1/recommend", new { user = 1, k = 3 }), ("/v1/route", new { item = 4, k = 3 }),
            ("/v1/observe", new { user = 1, item = 2, timestamp = long.MaxValue / 2, click = true }) })
        {
            var r = await client.PostAsJsonAsync(path, body);
            Assert.That((int)r.StatusCode, Is.EqualTo(200), $"{path}: {await r.Content.ReadAsStringAsync()}");
        }
        Assert.That((await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/info")).GetProperty("observed").GetInt64(), Is.EqualTo(1));
        Assert.That(await client.GetStringAsync("/metrics"), Does.Contain("/v1/observe"));
        Assert.That(await client.GetStringAsync("/openapi/v1.json"), Does.Contain("\"/v1/route\""));
        // A body past Kestrel's limit with no length announced (chunked): Kestrel stops it while it is read, and the
        // refusal is still a problem body naming the field.
        var huge = new StreamContent(new MemoryStream(new byte[RequestBody.MaxBytes + 100_000]));
        huge.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/score") { Content = huge };
        chunked.Headers.TransferEncodingChunked = true;
        var tooLarge = await client.SendAsync(chunked);
        Assert.That((int)tooLarge.StatusCode, Is.EqualTo(413));
        Assert.That(await tooLarge.Content.ReadAsStringAsync(), Does.Contain("\"field\":\"body\""));
        await app.StopAsync();
    }

    /// <summary>Starts <c>alpine serve</c> on a free port; returns once it listens, with its address.</summary>
    private (Process Process, string Address, StringBuilder Out) Start(string serving, string sync = "disk", params string[] more)
    {
        var p = AlpineProcess.Start(["serve", "--data", _data, "--model", _run, "--urls", "http://127.0.0.1:0", "--serving", serving, "--journal-sync", sync, .. more]);
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (output)
            {
                var m = System.Text.RegularExpressions.Regex.Match(output.ToString(), @"listening on (http://127\.0\.0\.1:\d+)");
                if (m.Success) return (p, m.Groups[1].Value, output);
            }
            Assert.That(p.HasExited, Is.False, $"serve ended early: {output}");
            Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(60), $"serve did not listen: {output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Either sync loses nothing to kill -9: the record is with the OS before the 200 (os), or on disk (disk).</summary>
    [TestCase("disk")]
    [TestCase("os")]
    public async Task KillNineDuringAStreamOfObservesLosesNothingAcknowledged(string sync)
    {
        string serving = Path.Combine(_dir, "killed-" + sync);
        var (p, address, output) = Start(serving, sync);
        var data = Alpine.Prep.PreparedData.Load(_data);
        long start = data.Timestamp.Max() + 1;
        var acked = Enumerable.Range(0, data.UserCount).Select(_ => new List<int>()).ToArray();
        int total = 0;
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        // One stream per user, in parallel: when the kill lands, several observes are in flight.
        var streams = Enumerable.Range(0, 4).Select(user => Task.Run(async () =>
        {
            var rng = new Random(user);
            for (long t = start; ; t++)
            {
                int item = rng.Next(data.ItemCount);
                HttpResponseMessage r;
                try { r = await client.PostAsJsonAsync("/v1/observe", new { user, item, timestamp = t, click = rng.Next(2) == 1 }); }
                catch (HttpRequestException) { return; }   // the server is gone
                Assert.That((int)r.StatusCode, Is.EqualTo(200), await r.Content.ReadAsStringAsync());
                lock (acked) { acked[user].Add(item); total++; }
            }
        })).ToArray();
        var clock = Stopwatch.StartNew();
        while (Volatile.Read(ref total) < 60 && clock.Elapsed.TotalSeconds < 60) Thread.Sleep(5);
        Assert.That(Posix.Kill(p.Id, Posix.SigKill), Is.Zero);
        await Task.WhenAll(streams);
        p.WaitForExit();
        Assert.That(total, Is.GreaterThanOrEqualTo(60), output.ToString());

        using var restarted = AlpineModel.Load(_data, _run, new ServingOptions { ServingDir = serving });
        for (int u = 0; u < 4; u++)
        {
            var replayed = restarted.StateOf(u).Observed.Items.ToArray();
            Assert.That(replayed.Take(acked[u].Count), Is.EqualTo(acked[u]), $"user {u}: every acknowledged observe, in order");
            Assert.That(replayed.Length - acked[u].Count, Is.InRange(0, 1), $"user {u}: at most the one in flight besides");
        }
    }

    /// <summary>--item-cache-mb bounds the item cache (0 turns it off) and answers stay the same.</summary>
    [Test]
    public async Task ItemCacheBudgetIsAppliedAndDoesNotChangeAnswers()
    {
        var scores = new List<string>();
        foreach (string mb in new[] { "0", "256" })
        {
            var (p, address, output) = Start(Path.Combine(_dir, "cache-" + mb), "disk", "--item-cache-mb", mb, "--item-cache-precision", "float");
            using (var client = new HttpClient { BaseAddress = new Uri(address) })
            {
                var r = await client.PostAsJsonAsync("/v1/recommend", new { user = 1, k = 5 });
                Assert.That((int)r.StatusCode, Is.EqualTo(200), await r.Content.ReadAsStringAsync());
                scores.Add(await r.Content.ReadAsStringAsync());
            }
            Assert.That(Posix.Kill(p.Id, Posix.SigTerm), Is.Zero);
            Assert.That(p.WaitForExit(30_000), Is.True, "stopped");
            string text = output.ToString();
            if (mb == "0") Assert.That(text, Does.Contain("(0 in the item cache, 0 MiB)"));
            else Assert.That(text, Does.Not.Contain("(0 in the item cache"));
        }
        var ids = scores.Select(s => System.Text.Json.JsonDocument.Parse(s).RootElement.GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("item").GetInt32()).ToArray()).ToArray();
        Assert.That(ids[1], Is.EqualTo(ids[0]), "the same top 5 with and without the cache");

        // --item-cache-precision bf16: the same items cached in half the bytes, the same answer.
        var (pb, addressB, outputB) = Start(Path.Combine(_dir, "cache-bf16"), "disk", "--item-cache-mb", "256", "--item-cache-precision", "bf16");
        string half;
        using (var client = new HttpClient { BaseAddress = new Uri(addressB) })
        {
            var r = await client.PostAsJsonAsync("/v1/recommend", new { user = 1, k = 5 });
            Assert.That((int)r.StatusCode, Is.EqualTo(200), await r.Content.ReadAsStringAsync());
            half = await r.Content.ReadAsStringAsync();
        }
        Assert.That(Posix.Kill(pb.Id, Posix.SigTerm), Is.Zero);
        Assert.That(pb.WaitForExit(30_000), Is.True, "stopped");
        static Dictionary<int, double> P(string json) => System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("items").EnumerateArray()
            .ToDictionary(e => e.GetProperty("item").GetInt32(), e => e.GetProperty("probability").GetDouble());
        Assert.That(P(half), Is.EqualTo(P(scores[1])), "the float cache's top 5 and probabilities");
        Assert.That(outputB.ToString(), Does.Not.Contain("(0 in the item cache"));
    }

    /// <summary>A model loaded from its folders routes a raw feature vector (projected as prepared, read from the data's items.npy) as its item.</summary>
    [Test]
    public void ALoadedModelRoutesARawFeatureVectorAsItsItem()
    {
        using var served = AlpineModel.Load(_data, _run, new ServingOptions { Journaled = false });
        using var npy = Alpine.Data.DataFolder.Open(_data).OpenFeatures();
        Assert.That(served.RawFeatureDim, Is.EqualTo(npy.Cols));
        var raw = new float[npy.Cols];
        npy.ReadRows(4, raw);
        var byItem = served.Route(4, null, served.UserCount);
        var byVector = served.Route(raw, -1, null, served.UserCount);
        Assert.That(byVector.Select(r => r.User), Is.EqualTo(byItem.Select(r => r.User)));
        Assert.That(byVector.Select(r => r.Probability), Is.EqualTo(byItem.Select(r => r.Probability)).Within(1e-5f));
        Assert.That(() => served.Route(new float[npy.Cols + 1], -1, null, 3), Throws.TypeOf<ServingInputException>().With.Property("Field").EqualTo("features"));
    }

    [TestCase(Posix.SigTerm)]
    [TestCase(Posix.SigInt)]   // Ctrl-C
    public async Task ASignalStopsGracefullyAndTheJournalReopens(int signal)
    {
        string serving = Path.Combine(_dir, $"signalled-{signal}");
        var (p, address, output) = Start(serving);
        using (var client = new HttpClient { BaseAddress = new Uri(address) })
            for (int i = 0; i < 3; i++)
                Assert.That((int)(await client.PostAsJsonAsync("/v1/observe", new { user = 1, item = i, timestamp = long.MaxValue - 10 + i, click = true })).StatusCode, Is.EqualTo(200));
        Assert.That(Posix.Kill(p.Id, signal), Is.Zero);
        Assert.That(p.WaitForExit(30_000), Is.True, "stopped");
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, output.ToString());
        Assert.That(output.ToString(), Does.Contain("alpine serve: stopped"));
        using var again = AlpineModel.Load(_data, _run, new ServingOptions { ServingDir = serving });
        Assert.That(again.ObservedCount, Is.EqualTo(3));
        Assert.That(again.Warnings, Is.Empty);
    }

    /// <summary>
    /// A request in flight when SIGTERM arrives is answered before the server stops: an observe whose body is still
    /// arriving (half sent, the signal, then the rest) gets its 200, and the observation is in the journal the next
    /// server reopens.
    /// </summary>
    [Test]
    public async Task ARequestInFlightAtSigtermIsAnsweredAndKept()
    {
        string serving = Path.Combine(_dir, "in-flight");
        var (p, address, output) = Start(serving);
        try
        {
            byte[] body = Encoding.UTF8.GetBytes($"{{\"user\": 2, \"item\": 5, \"timestamp\": {long.MaxValue - 1}, \"click\": true}}");
            var content = new TrickledContent(body, body.Length / 2);
            using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/observe") { Content = content };
            var answer = client.SendAsync(request);
            await content.FirstPartSent.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(Posix.Kill(p.Id, Posix.SigTerm), Is.Zero);
            await Task.Delay(500);   // the server is stopping now, the request still reading its body
            Assert.That(p.HasExited, Is.False, "the server waits for the request in flight");
            content.SendTheRest();
            using var response = await answer;
            Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
            Assert.That(p.WaitForExit(30_000), Is.True, "stopped");
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.Zero, output.ToString());
        }
        finally
        {
            if (!p.HasExited) { Posix.Kill(p.Id, Posix.SigKill); p.WaitForExit(); }
        }
        using var again = AlpineModel.Load(_data, _run, new ServingOptions { ServingDir = serving });
        Assert.That(again.ObservedCount, Is.EqualTo(1));
    }

    /// <summary>A JSON body sent in two parts: the first at once, the rest when the test says so.</summary>
    private sealed class TrickledContent(byte[] body, int first) : HttpContent
    {
        private readonly TaskCompletionSource _firstSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _rest = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstPartSent => _firstSent.Task;
        public void SendTheRest() => _rest.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, first));
            await stream.FlushAsync();
            _firstSent.TrySetResult();
            await _rest.Task;
            await stream.WriteAsync(body.AsMemory(first));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    [Test]
    public void ASecondServerOfOneServingFolderIsRefusedWithExitCode2()
    {
        string serving = Path.Combine(_dir, "twice");
        var (p, _, _) = Start(serving);
        try
        {
            var (code, _, err) = AlpineProcess.Run(["serve", "--data", _data, "--model", _run, "--urls", "http://127.0.0.1:0", "--serving", serving]);
            Assert.That(code, Is.EqualTo(2));
            Assert.That(err, Does.Contain("serving folder").And.Contain("being written by"));
        }
        finally
        {
            Posix.Kill(p.Id, Posix.SigKill);
            p.WaitForExit();
        }
    }
}
