namespace Alpine.Data;

/// <summary>
/// Data-set profile (SPEC "Item embedding x"). It lives with the data because a data folder has one
/// (item_categories.csv present or not); the model reads it to shape x.
/// </summary>
public enum Profile
{
    /// <summary>Dataset I: x = the fixed 64-d PCA vector; D = 64.</summary>
    Kuaishou,
    /// <summary>Dataset II: x = [trainable 64-d category embedding ; 64-d PCA vector]; D = 128.</summary>
    Thacil,
}
