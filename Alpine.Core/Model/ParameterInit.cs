using Alpine.Prep;

namespace Alpine.Model;

/// <summary>
/// Initial parameters from one seed (SPEC D11): Glorot-uniform weights, recurrent matrices with orthonormal
/// columns (each path's stacked [4H × H] matrix as one), zero biases except the forget gates (1), small uniform embeddings, and the
/// user matrix from likes and follows (SPEC D9). Each tensor draws from its own stream, keyed by seed and
/// name, so adding or dropping a tensor never changes another's values.
/// </summary>
public static class ParameterInit
{
    /// <summary>Embedding tables start in ±this (Keras' default uniform embedding initialiser).</summary>
    public const float EmbeddingScale = 0.05f;

    /// <summary>Gate blocks of the LSTM bias are ordered (i, f, o, u) per path; the forget gates f, f* are blocks 1 and 5.</summary>
    public const int ForgetBlock = 1;

    /// <summary>
    /// A new flat buffer <see cref="ParameterLayout.Size"/> long. <paramref name="likeFollow"/> may be null
    /// (all user rows zero); users beyond its <see cref="LikeFollowLists.UserCount"/> start at zero too.
    /// </summary>
    public static float[] Create(ModelConfig config, ParameterLayout layout, ItemTable items, LikeFollowLists? likeFollow, ulong seed)
    {
        var p = new float[layout.Size];
        // The category embedding first: the user matrix is initialised from x, which contains it.
        foreach (TensorSlot s in layout.Slots.OrderBy(s => s.Name == ModelLayout.UserMatrixName ? 1 : 0))
        {
            var rng = new SplitMix64(seed ^ Fnv1a(s.Name));
            Span<float> w = s.Of(p);
            if (s.Name == ModelLayout.UserMatrixName) UserMatrix(w, config, layout, p, items, likeFollow);
            else switch (s.Kind)
            {
                case TensorKind.Weight: Uniform(w, GlorotLimit(s, config), ref rng); break;
                case TensorKind.Recurrent: OrthonormalColumns(w, s.Rows, s.Cols, ref rng); break;
                case TensorKind.Embedding: Uniform(w, EmbeddingScale, ref rng); break;
                case TensorKind.Bias: ForgetGatesOne(w, s.Name, config); break;
            }
        }
        return p;
    }

    /// <summary>
    /// √(6 / (fan_in + fan_out)). An LSTM's Wx stacks one [4H, D] kernel per gate set (sequential, graph), which
    /// are separate matrices in the paper (W and W*), so each is Glorot-scaled as its own: fan_out = 4H.
    /// </summary>
    public static float GlorotLimit(TensorSlot s, ModelConfig c) =>
        MathF.Sqrt(6f / ((s.Name.EndsWith(".Wx") ? 4 * c.HiddenSize : s.Rows) + s.Cols));

    private static void ForgetGatesOne(Span<float> b, string name, ModelConfig c)
    {
        if (name.EndsWith(".mlp.b1") || name.EndsWith(".mlp.b2")) return;
        int h = c.HiddenSize;
        for (int path = 0; path * 4 * h < b.Length; path++) b.Slice((path * 4 + ForgetBlock) * h, h).Fill(1f);
    }

    internal static void Uniform(Span<float> w, float limit, ref SplitMix64 rng)
    {
        for (int i = 0; i < w.Length; i++) w[i] = (float)((2 * rng.NextDouble() - 1) * limit);
    }

    /// <summary>
    /// A rows×cols (rows ≥ cols) row-major matrix with orthonormal columns (QᵀQ = I): Gaussian entries, columns
    /// orthonormalised by modified Gram–Schmidt in float64, which is the Q of a QR with R's diagonal positive, as
    /// torch's <c>orthogonal_</c>. A path's four gate blocks are thus one matrix (SPEC D11), each block of about
    /// half an orthogonal block's norm.
    /// </summary>
    internal static void OrthonormalColumns(Span<float> q, int rows, int cols, ref SplitMix64 rng)
    {
        System.Diagnostics.Debug.Assert(rows >= cols && q.Length == rows * cols);
        // Column-major scratch so each column is contiguous for the dot products.
        var a = new double[rows * cols];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextGaussian();
        for (int c = 0; c < cols; c++)
        {
            Span<double> col = a.AsSpan(c * rows, rows);
            for (int k = 0; k < c; k++)
            {
                ReadOnlySpan<double> prev = a.AsSpan(k * rows, rows);
                double dot = System.Numerics.Tensors.TensorPrimitives.Dot(col, prev);
                for (int j = 0; j < rows; j++) col[j] -= dot * prev[j];
            }
            double norm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(col, col));
            for (int j = 0; j < rows; j++) col[j] /= norm;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) q[r * cols + c] = (float)a[c * rows + r];
    }

    /// <summary>SPEC D9: U[u] = w_l·mean(x over liked) + w_f·mean(x over followed) (sums with UserInit.Sum), zero with neither.</summary>
    private static void UserMatrix(Span<float> u, ModelConfig c, ParameterLayout layout, float[] p, ItemTable items, LikeFollowLists? lists)
    {
        if (lists == null) return;
        int d = c.ItemDim;
        ReadOnlySpan<float> category = layout.Contains(ModelLayout.CategoryName) ? layout[ModelLayout.CategoryName].Of(p) : [];
        var x = new float[d];
        int users = Math.Min(u.Length / d, lists.UserCount);
        for (int user = 0; user < users; user++)
        {
            Span<float> row = u.Slice(user * d, d);
            AddItems(row, x, c.LikeWeight, lists.LikedItems.AsSpan(lists.LikedOffsets[user]..lists.LikedOffsets[user + 1]), c, items, category);
            AddItems(row, x, c.FollowWeight, lists.FollowedItems.AsSpan(lists.FollowedOffsets[user]..lists.FollowedOffsets[user + 1]), c, items, category);
        }
    }

    private static void AddItems(Span<float> row, Span<float> x, float weight, ReadOnlySpan<int> list, ModelConfig c, ItemTable items, ReadOnlySpan<float> category)
    {
        if (list.Length == 0) return;
        float scale = c.UserInit == UserInit.Mean ? weight / list.Length : weight;
        foreach (int item in list)
        {
            ItemEmbedding.Gather(x, items, category, item);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x, scale, row, row);
        }
    }

    /// <summary>FNV-1a over the name's UTF-16 code units: a stream key that never depends on the runtime's string hash.</summary>
    internal static ulong Fnv1a(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in s) { h ^= ch; h *= 1099511628211UL; }
        return h;
    }
}

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): a tiny, fully specified PRNG so initial values never depend on the runtime.</summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal by Box–Muller (one of the pair; simplicity over speed, it runs once).</summary>
    public double NextGaussian() => Math.Sqrt(-2 * Math.Log(1 - NextDouble())) * Math.Cos(2 * Math.PI * NextDouble());
}
