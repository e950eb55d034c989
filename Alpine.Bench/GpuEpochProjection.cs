using System.Globalization;

namespace Alpine.Bench;

/// <summary>
/// A Dataset-I-scale epoch projected from one measured SharedPrefix train step (the goal: under 2 minutes on a
/// GPU). Dataset I's shape is the one docs/BENCHMARKS.md's cell-step formula uses (paper Table 1): 10,000 users of
/// n = 1,366 impressions, c = 277 clicks each, SPEC D1's split, batches of 2,048 targets cut from pieces of 256.
/// Napkin math, not a run: a step's cost lies between "the same as the measured step" (work-bound, and Dataset I's
/// batch has about as many cell-steps) and "the measured step times the ratio of serial recurrence steps" (bound by
/// the per-step latency of the recurrence, whose length is the longest sequence of each branch).
/// </summary>
public static class GpuEpochProjection
{
    public const int Users = 10_000, Impressions = 1_366, Clicks = 277, BatchTargets = 2_048;

    /// <summary>Train targets per user: ⌊0.8n⌋ minus the validation tenth of them (SPEC D1): 983.</summary>
    public static int TrainTargetsPerUser
    {
        get { int train = (int)(0.8 * Impressions); return train - train / 10; }
    }

    public static long TargetsPerEpoch => (long)Users * TrainTargetsPerUser;
    public static long BatchesPerEpoch => (TargetsPerEpoch + BatchTargets - 1) / BatchTargets;

    /// <summary>Serial recurrence steps of a batch holding a user's last piece (7 batches in 8 do): the clicks and the
    /// not-clicks before that user's last train target.</summary>
    public static int SerialSteps
    {
        get
        {
            double c = (double)Clicks / Impressions;
            int before = TrainTargetsPerUser - 1;
            return (int)(c * before) + (int)((1 - c) * before);
        }
    }

    /// <summary>Markdown lines: the projection from each measured step (ms) of a batch with
    /// <paramref name="measuredSerialSteps"/> serial steps; for a step that is NaN (not measured) a row that says
    /// <paramref name="missing"/>.</summary>
    public static IEnumerable<string> Lines(IReadOnlyList<(string Impl, double StepMs)> steps, int measuredSerialSteps, string missing)
    {
        double ratio = (double)SerialSteps / measuredSerialSteps;
        yield return $"### Projected Dataset-I epoch (SharedPrefix; napkin math from the measured step)";
        yield return "";
        yield return $"{TargetsPerEpoch:N0} train targets per epoch ({Users:N0} users × {TrainTargetsPerUser}) = {BatchesPerEpoch:N0} batches of " +
                     $"{BatchTargets:N0}. The measured batch recurs over {measuredSerialSteps} serial steps (both branches), Dataset I's over " +
                     $"≈ {SerialSteps} ({ratio:F1}×). Epoch ≈ batches × step ms × [1 … {ratio:F1}]: the low end if the step is bound by " +
                     "work (similar cell-steps per batch), the high end if by the recurrence's per-step latency.";
        yield return "";
        yield return "| impl | measured step ms | projected epoch (low … high) | goal < 2 min |";
        yield return "|---|---|---|---|";
        foreach (var (impl, ms) in steps)
        {
            if (double.IsNaN(ms)) { yield return $"| {impl} | {missing} | {missing} | pending |"; continue; }
            double low = BatchesPerEpoch * ms / 1e3, high = low * ratio;
            string goal = high < 120 ? "yes" : low < 120 ? "maybe" : "no";
            yield return string.Create(CultureInfo.InvariantCulture, $"| {impl} | {ms:F1} | {Duration(low)} … {Duration(high)} | {goal} |");
        }
    }

    private static string Duration(double seconds) =>
        seconds < 120 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s") : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F1} min");
}
