using System.Text.Json;
using System.Text.Json.Serialization;
using Alpine.Baselines;
using Alpine.Data;
using Alpine.Eval;

namespace Alpine.Reproduce;

/// <summary>One training run of a reproduction: a model, a seed and the graph neighbour count L its data was prepared with.</summary>
public sealed record RunSpec(string Model, int Seed, int TopL)
{
    /// <summary>The run's folder name under <c>REPORT/runs/</c>.</summary>
    public string Id => $"{Model}-L{TopL}-s{Seed}";
}

/// <summary>
/// What a finished run keeps in <c>REPORT/runs/ID/result.json</c>: what was trained on what, the validation curve
/// and kept round, the test metrics, and each AUC_user user's own test AUC (what the paired tests compare).
/// </summary>
public sealed record RunResult
{
    public required string Model { get; init; }
    public required int Seed { get; init; }
    public required int TopL { get; init; }
    /// <summary>The prepared data's source fingerprint: a result of other data is never reused.</summary>
    public required string Fingerprint { get; init; }
    /// <summary>The training settings; <see cref="RankingTrainOptions.Threads"/> is stored as 0 (it changes no result, SPEC D13).</summary>
    public required RankingTrainOptions Options { get; init; }
    public required int BestEpoch { get; init; }
    public required int EpochsTrained { get; init; }
    public required double BestValidationAucUser { get; init; }
    public required IReadOnlyList<RankingProgress> Curve { get; init; }
    /// <summary>The test part's metrics, computed once, after training (SPEC D1).</summary>
    public required MetricReport Test { get; init; }
    /// <summary>The users AUC_user averages over, ascending, and each one's AUC (parallel arrays).</summary>
    public required int[] AucUsers { get; init; }
    public required double[] UserAuc { get; init; }
    /// <summary>Wall seconds of training and scoring: what the progress line's ETA is estimated from.</summary>
    public required double Seconds { get; init; }

    public const string FileName = "result.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN: a metric with no user to average over
    };

    public RunSpec Spec => new(Model, Seed, TopL);

    /// <summary>Writes the file atomically: it appears whole, and only once the run has finished.</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>The result at <paramref name="path"/>, or null when there is none or it cannot be read (the run is then trained again).</summary>
    public static RunResult? TryRead(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunResult>(File.ReadAllText(path), Json); }
        catch (JsonException) { return null; }
    }

    /// <summary>Whether this result is the run <paramref name="spec"/> with <paramref name="options"/> on the data of <paramref name="fingerprint"/>.</summary>
    public bool IsFor(RunSpec spec, RankingTrainOptions options, string fingerprint) =>
        Spec == spec && Fingerprint == fingerprint && Options == options with { Threads = 0 }
        && AucUsers.Length == UserAuc.Length;
}
