
namespace Alpine.Data.Synthetic;

/// <summary>What <see cref="SyntheticLog.Generate"/> wrote.</summary>
public sealed record SyntheticSummary(
    string Folder, int Users, int Items, long Impressions, long Clicks, long Likes, long Follows, int FeatureDim, int Categories);

/// <summary>
/// The embedded synthetic micro-video log (SPEC D17): writes a native data folder (SPEC D16) —
/// <c>interactions.csv</c> without a split column (the library splits per SPEC D1), <c>items.npy</c>,
/// and for the thacil profile <c>item_categories.csv</c> (category = topic). The same seed gives
/// byte-identical files.
/// </summary>
public static class SyntheticLog
{
    /// <summary>
    /// Generates a preset into <paramref name="outDir"/>, atomically: everything is written into a
    /// sibling temporary folder that is renamed at the end and deleted on failure or cancellation.
    /// An existing non-empty <paramref name="outDir"/> is refused unless <paramref name="force"/>.
    /// </summary>
    public static SyntheticSummary Generate(string outDir, SyntheticPreset preset, Profile profile, int seed,
        IProgress<(string Stage, double Fraction)>? progress = null, CancellationToken ct = default, bool force = false) =>
        Generate(outDir, SyntheticSize.Of(preset), profile, seed, progress, ct, force);

    /// <summary>As above for any size (tests use odd ones).</summary>
    public static SyntheticSummary Generate(string outDir, SyntheticSize size, Profile profile, int seed,
        IProgress<(string Stage, double Fraction)>? progress = null, CancellationToken ct = default, bool force = false)
    {
        SyntheticSummary? summary = null;
        DataFolder.WriteAtomically(outDir, force, temp =>
        {
            summary = WriteFolder(temp, size, profile, seed, progress, ct);
            ct.ThrowIfCancellationRequested();
        });
        return summary! with { Folder = Path.GetFullPath(Path.TrimEndingDirectorySeparator(outDir)) };
    }

    private static SyntheticSummary WriteFolder(string dir, SyntheticSize size, Profile profile, int seed,
        IProgress<(string Stage, double Fraction)>? progress, CancellationToken ct)
    {
        progress?.Report(("items", 0));
        var world = SyntheticWorld.Create(size, seed);
        progress?.Report(("items", 1));

        bool likesAndFollows = profile == Profile.Kuaishou; // Dataset II has clicks only (SPEC D16)
        var log = new InteractionLog(checked((int)size.Impressions));
        int reportEvery = Math.Max(1, size.Users / 100);
        for (int u = 0; u < size.Users; u++)
        {
            if (u % reportEvery == 0)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report(("impressions", (double)u / size.Users));
            }
            new SyntheticUser(world, u).Simulate(world, log, likesAndFollows);
        }
        System.Diagnostics.Debug.Assert(log.Count == size.Impressions);
        progress?.Report(("impressions", 1));

        progress?.Report(("interactions.csv", 0));
        NativeFormat.WriteInteractions(Path.Combine(dir, NativeFormat.InteractionsFile), log);
        progress?.Report(("interactions.csv", 1));

        if (profile == Profile.Thacil)
            NativeFormat.WriteCategories(Path.Combine(dir, NativeFormat.CategoriesFile), world.TopicOfItem);

        var features = new SyntheticFeatures(world, SyntheticSize.FeatureDim(profile));
        var featureProgress = progress is null ? null : new InlineProgress(f => progress.Report(("items.npy", f)));
        features.Write(Path.Combine(dir, NativeFormat.ItemsFile), featureProgress, ct);

        long clicks = 0, likes = 0, follows = 0;
        for (int i = 0; i < log.Count; i++)
        {
            if (log.Click(i)) clicks++;
            if (log.Like(i)) likes++;
            if (log.Follow(i)) follows++;
        }
        return new SyntheticSummary(dir, size.Users, size.Items, log.Count, clicks, likes, follows, features.Dim,
            profile == Profile.Thacil ? SyntheticParameters.Topics : 0);
    }

    /// <summary>Reports on the calling thread (System.Progress would post to the thread pool, out of order).</summary>
    private sealed class InlineProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
