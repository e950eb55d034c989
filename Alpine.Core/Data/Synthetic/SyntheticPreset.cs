
namespace Alpine.Data.Synthetic;

/// <summary>The sizes of the embedded synthetic log (SPEC D17).</summary>
public enum SyntheticPreset
{
    /// <summary>Tests: 50 users, 2,000 items, 5,000 impressions; well under a second.</summary>
    Tiny,
    /// <summary>The demo: 500 users, 50,000 items, 300,000 impressions; trains in minutes on 2 cores.</summary>
    Small,
    /// <summary>Dataset I's shape (paper Table 1): 10,000 users, 3,239,534 items, 13,661,383 impressions.</summary>
    Paper,
}

/// <summary>How many users, items and impressions a preset has, and the feature width of a profile.</summary>
public readonly record struct SyntheticSize(int Users, int Items, long Impressions)
{
    public static SyntheticSize Of(SyntheticPreset preset) => preset switch
    {
        SyntheticPreset.Tiny => new(50, 2_000, 5_000),
        SyntheticPreset.Small => new(500, 50_000, 300_000),
        SyntheticPreset.Paper => new(10_000, 3_239_534, 13_661_383),
        _ => throw new ArgumentOutOfRangeException(nameof(preset)),
    };

    /// <summary>Raw visual feature width: Dataset I's 2048-d thumbnails, Dataset II's 512-d covers (SPEC D16).</summary>
    public static int FeatureDim(Profile profile) => profile == Profile.Thacil ? 512 : 2048;
}
