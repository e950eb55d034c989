namespace Alpine.Data.Synthetic;

/// <summary>
/// Every fixed parameter of the synthetic micro-video log (SPEC D17), chosen once before any model
/// was trained on it and documented in docs/FORMATS.md ("Synthetic generator"). They are never
/// tuned to make one model win: changing one changes every generated file, so it is a format change.
/// </summary>
public static class SyntheticParameters
{
    // ---- items -------------------------------------------------------------------------------
    /// <summary>C, the number of topics (thacil: the category of an item is its topic).</summary>
    public const int Topics = 64;
    /// <summary>k, the width of an item's latent vector.</summary>
    public const int LatentDim = 24;
    /// <summary>Topic centres ~ N(0, I_k); an item's latent = its topic's centre + this × N(0, I_k).</summary>
    public const double ItemSpread = 0.5;
    /// <summary>Topic sizes ∝ Gamma(shape, 1) weights: some topics are much larger than others.</summary>
    public const double TopicSizeShape = 2.0;
    /// <summary>Feature = offset + M·latent + noise; M's entries ~ N(0, 1/k), offset's ~ U(0, 1).</summary>
    public const double FeatureNoise = 0.5;

    // ---- users -------------------------------------------------------------------------------
    /// <summary>Impressions per user ∝ exp(σ·N(0,1)) weights (lognormal), at least a fifth of the mean.</summary>
    public const double ActivitySigma = 0.6;
    /// <summary>A user's base click logit ~ N(mean, sd).</summary>
    public const double BaseLogitMean = -2.5, BaseLogitSd = 0.5;
    /// <summary>Core (lasting) interest topics: 1 or 2, alive over the whole timeline, strength ~ U(0.6, 1).</summary>
    public const int CoreTopicsMin = 1, CoreTopicsMax = 2;
    public const double CoreStrengthMin = 0.6, CoreStrengthMax = 1.0;
    /// <summary>Transient interest topics: 2 to 4, each alive over a window of U(0.25, 0.6) of the user's impressions, strength ~ U(0.3, 1).</summary>
    public const int TransientTopicsMin = 2, TransientTopicsMax = 4;
    public const double TransientSpanMin = 0.25, TransientSpanMax = 0.6;
    public const double TransientStrengthMin = 0.3, TransientStrengthMax = 1.0;
    /// <summary>Disliked topics: 1 or 2, disjoint from the interests.</summary>
    public const int DislikedTopicsMin = 1, DislikedTopicsMax = 2;
    /// <summary>
    /// Per session, each interest's log-weight drifts: ℓ ← ℓ + θ(log s − ℓ) + σ·N(0,1)
    /// (mean-reverting towards its strength s).
    /// </summary>
    public const double DriftPull = 0.1, DriftSd = 0.25;

    // ---- sessions and time -------------------------------------------------------------------
    /// <summary>Session length in impressions: 1 + Geometric with this mean excess.</summary>
    public const double SessionMeanExtra = 9.0;
    /// <summary>Probability that the focus topic survives into the next session (else redrawn ∝ weight).</summary>
    public const double FocusStay = 0.5;
    /// <summary>Impressions come in pages of 1..4 that share one timestamp (ties).</summary>
    public const int PageMax = 4;
    /// <summary>Seconds between pages of a session: PageGapMin + Exp(PageGapMean).</summary>
    public const double PageGapMin = 5, PageGapMean = 40;
    /// <summary>Gap between sessions: SessionGapMin + (with probability LongGapProb Exp(7 days), else Exp(6 hours)) seconds.</summary>
    public const double SessionGapMin = 300, LongGapProb = 0.15, LongGapMean = 7 * 86400.0, ShortGapMean = 6 * 3600.0;
    /// <summary>First timestamp of a user: Epoch + U(0, EpochJitter) seconds (2018-09-01 UTC, Dataset I's season).</summary>
    public const long Epoch = 1_535_760_000;
    public const double EpochJitter = 7 * 86400.0;

    // ---- impressions -------------------------------------------------------------------------
    /// <summary>Where an impression's item comes from: the focus topic, another past or present interest, a disliked topic, or any item.</summary>
    public const double FromFocus = 0.30, FromOldInterest = 0.20, FromDisliked = 0.10; // the rest (0.40): uniform over all items

    /// <summary>
    /// Click ~ Bernoulli(σ(a)), a = b_u + FocusBoost·[focus] + InterestBoost·w̄ − DislikeMalus·[disliked]
    /// + TasteWeight·⟨p_{u,c}, δ_i⟩, with w̄ the interest's weight relative to the largest alive one,
    /// p_{u,c} the user's unit taste direction inside interest topic c, δ_i the item's standardised
    /// offset from its topic centre.
    /// </summary>
    public const double FocusBoost = 1.5, InterestBoost = 1.5, DislikeMalus = 2.5, TasteWeight = 0.8;

    /// <summary>Likes and follows (kuaishou profile, on clicks only): far likelier on a user's core topics.</summary>
    public const double LikeCore = 0.15, LikeOther = 0.02, FollowCore = 0.05, FollowOther = 0.003;
}
