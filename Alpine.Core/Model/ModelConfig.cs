using Alpine.Data;

namespace Alpine.Model;

/// <summary>Model variants of the paper's Table 3 (SPEC D10). A dropped branch is not computed.</summary>
public enum Variant { Alpine, U, M, UM, UMG }

/// <summary>Which cell the graph path carries (SPEC D5).</summary>
public enum CStarReading
{
    /// <summary>The paper: c*_prev = c_{t*}, the sequential-path cell of step t*.</summary>
    Neighbor,
    /// <summary>The reference code: c*_prev = c*_{t-1}, the graph-path cell of the previous step.</summary>
    Carried,
}

/// <summary>Attention score (SPEC D7).</summary>
public enum AttentionKind
{
    /// <summary>The paper: s_j = h_jᵀ W_a x_new.</summary>
    Bilinear,
    /// <summary>The reference code: s_j = h_j·x_new / √H (needs H = D).</summary>
    ScaledDot,
}

/// <summary>User-matrix initialisation (SPEC D9).</summary>
public enum UserInit { Mean, Sum }

/// <summary>
/// Everything that fixes the model's shape and maths. Defaults follow SPEC; each option's
/// paper-literal or reference-code alternative is a value of an enum above.
/// </summary>
public sealed record ModelConfig
{
    public Profile Profile { get; init; } = Profile.Kuaishou;
    public Variant Variant { get; init; } = Variant.Alpine;
    /// <summary>PCA dims of the visual part of x (SPEC D3).</summary>
    public int VisualDim { get; init; } = 64;
    /// <summary>Category embedding dims (thacil profile only).</summary>
    public int CategoryDim { get; init; } = 64;
    /// <summary>
    /// H, the LSTM hidden size: 64 whatever D (SPEC "Hidden size"). 0 means "same as D", which model files
    /// written with that older default still hold.
    /// </summary>
    public int Hidden { get; init; } = DefaultHidden;
    public const int DefaultHidden = 64;
    /// <summary>M, the hidden units of each MLP head (SPEC D8).</summary>
    public int MlpHidden { get; init; } = 128;
    /// <summary>L, graph neighbours averaged into h*, c* (SPEC D4).</summary>
    public int TopL { get; init; } = 1;
    /// <summary>W, the most recent history items a target attends over (SPEC D2).</summary>
    public int Window { get; init; } = 300;
    public CStarReading CStar { get; init; } = CStarReading.Neighbor;
    public AttentionKind Attention { get; init; } = AttentionKind.Bilinear;
    public UserInit UserInit { get; init; } = UserInit.Mean;
    public float LikeWeight { get; init; } = 0.5f;
    public float FollowWeight { get; init; } = 0.5f;
    /// <summary>Fusion weights α1..α3 (SPEC D10); null means the profile's default.</summary>
    public float[]? Alphas { get; init; }
    /// <summary>L2 on weight matrices (not biases or embeddings).</summary>
    public float L2 { get; init; } = 5e-5f;

    /// <summary>D, the item embedding size.</summary>
    public int ItemDim => Profile == Profile.Thacil ? CategoryDim + VisualDim : VisualDim;
    public int HiddenSize => Hidden > 0 ? Hidden : ItemDim;

    public bool UsesUninterest => Variant == Variant.Alpine || Variant == Variant.M;
    public bool UsesUserMatrix => (Variant == Variant.Alpine || Variant == Variant.U) && EffectiveAlphas[2] != 0f;
    public bool UsesGraph => Variant != Variant.UMG;

    /// <summary>α1..α3 with dropped branches set to 0 (SPEC D10).</summary>
    public float[] EffectiveAlphas
    {
        get
        {
            float[] a = (float[])(Alphas ?? (Profile == Profile.Thacil ? [0.68f, 0.32f, 0f] : [0.58f, 0.18f, 0.24f])).Clone();
            if (!(Variant == Variant.Alpine || Variant == Variant.M)) a[1] = 0f;
            if (!(Variant == Variant.Alpine || Variant == Variant.U)) a[2] = 0f;
            return a;
        }
    }

    /// <summary>Throws <see cref="Data.UsageException"/> naming the option when the config cannot work.</summary>
    public void Validate()
    {
        if (VisualDim <= 0) throw new Data.UsageException($"visual dims must be positive, got {VisualDim}");
        if (HiddenSize <= 0) throw new Data.UsageException($"--hidden must be positive, got {Hidden}");
        if (MlpHidden <= 0) throw new Data.UsageException($"MLP hidden units must be positive, got {MlpHidden}");
        if (TopL < 1) throw new Data.UsageException($"top-L must be at least 1 (alpine prepare --top-l), got {TopL}");
        if (Window < 1) throw new Data.UsageException($"--window must be at least 1, got {Window}");
        if (Attention == AttentionKind.ScaledDot && HiddenSize != ItemDim)
            throw new Data.UsageException($"--attention scaled-dot needs H = D, got H = {HiddenSize}, D = {ItemDim} (pass --hidden {ItemDim})");
        if (Alphas is { Length: not 3 }) throw new Data.UsageException("--alphas takes three numbers α1,α2,α3");
        // All weights 0 after dropping the variant's unused branches: every prediction is the same constant.
        if (EffectiveAlphas.All(a => a == 0f))
            throw new Data.UsageException($"--alphas {string.Join(",", Alphas ?? [])} gives every branch of --variant {Variant.ToString().ToLowerInvariant()} weight 0, " +
                "so the model would predict a constant; give at least one of its branches a weight > 0");
    }
}
