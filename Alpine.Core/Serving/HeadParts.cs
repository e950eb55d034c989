using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// The heads' first layers (SPEC D8) split by input: W1 u = W1_o o + W1_x x_new, o being f for a branch head and
/// U[user] for the user head (SPEC D9). The x part of every head is one (D, K·M) product per item
/// (<see cref="ItemParts"/>, cached by <see cref="ItemCache"/>), the user head's U part one M-vector per user computed
/// here once, so a target's own work is the branch heads' W1_o f only. Sums run in another order than the unsplit
/// product's (<see cref="Scorer"/>): equal to float rounding, not bit for bit.
/// </summary>
internal sealed class HeadParts
{
    /// <summary>(D, K·M): column k·M + m is head k's W1_x row m, so X (n, D) times this is every head's x part.</summary>
    private readonly float[] _xT;
    /// <summary>(K·M) each branch head's b1, zero for the user head (its b1 is in <see cref="UserPart"/>).</summary>
    private readonly float[] _bias;
    private readonly float[][] _otherT;
    /// <summary>(K·M) α_k w2_k for every head k, and Σ_k α_k b2_k: the fused output of <see cref="Logit"/>.</summary>
    private readonly float[] _w2Alpha;
    private readonly float _b2Alpha;
    /// <summary>(M) the W1_f f of a branch head whose window is empty.</summary>
    private readonly float[] _zeros;
    private readonly float[] _userPart;

    public HeadParts(ModelConfig config, ModelLayout layout, float[] p, int threads)
    {
        (D, H, M, Heads) = (config.ItemDim, config.HiddenSize, config.MlpHidden, layout.Heads);
        int km = Heads * M;
        _xT = new float[D * km];
        _bias = new float[km];
        _otherT = new float[Heads][];
        _w2Alpha = new float[km];
        _zeros = new float[M];
        var heads = layout.Branches.Select(b => (b.Head, b.Mlp)).ToList();
        if (layout.UserHead is { } uh) heads.Add((Heads - 1, uh));
        foreach (var (k, head) in heads)
        {
            System.Diagnostics.Debug.Assert(head.Inputs == head.XNewColumn + D, "x_new is the last D inputs of every head");
            ReadOnlySpan<float> w1 = head.W1.Of(p);
            int inputs = head.Inputs, other = head.XNewColumn;
            _otherT[k] = new float[other * M];
            for (int m = 0; m < M; m++)
            {
                for (int i = 0; i < other; i++) _otherT[k][i * M + m] = w1[m * inputs + i];
                for (int i = 0; i < D; i++) _xT[i * km + k * M + m] = w1[m * inputs + other + i];
            }
            TensorPrimitives.Multiply(head.W2.Of(p), layout.Alphas[k], _w2Alpha.AsSpan(k * M, M));
            _b2Alpha += layout.Alphas[k] * head.B2.Of(p)[0];
            if (layout.UserHead is null || k != Heads - 1) head.B1.Of(p).CopyTo(_bias.AsSpan(k * M, M));
        }
        _userPart = [];
        if (layout.UserHead is { } user)
        {
            // U[user] W1_uᵀ + b1 for every user, row by row: (N, D) times (D, M).
            int n = layout.UserMatrix!.Value.Rows;
            _userPart = new float[n * M];
            for (int u = 0; u < n; u++) user.B1.Of(p).CopyTo(_userPart.AsSpan(u * M, M));
            Gemm.Multiply<float>(_userPart, M, layout.UserMatrix.Value.Of(p), D, false, _otherT[Heads - 1], M, false, n, M, D, accumulate: true, parallel: threads != 1);
        }
    }

    public int D { get; }
    public int H { get; }
    public int M { get; }
    /// <summary>K, the heads; the user head, when there is one, is the last.</summary>
    public int Heads { get; }
    /// <summary>Floats of one item's <see cref="ItemParts"/> row: K·M.</summary>
    public int ItemWidth => Heads * M;
    public bool HasUserHead => _userPart.Length > 0;
    /// <summary>Bytes of the per-user U parts: N·M floats.</summary>
    public long UserPartBytes => 4L * _userPart.Length;

    /// <summary>(F, M): head k's W1_o transposed, F = H for a branch head, D for the user head.</summary>
    public ReadOnlySpan<float> OtherT(int head) => _otherT[head];

    /// <summary>The user head's W1_u U[user] + b1 (M).</summary>
    public ReadOnlySpan<float> UserPart(int user) => _userPart.AsSpan(user * M, M);

    /// <summary>Each item's x part of every head plus the branch heads' b1: rows of <paramref name="x"/> (n, D) into (n, K·M).</summary>
    public void ItemParts(Span<float> parts, ReadOnlySpan<float> x, bool parallel)
    {
        int n = x.Length / D, km = ItemWidth;
        for (int r = 0; r < n; r++) _bias.CopyTo(parts.Slice(r * km, km));
        Gemm.Multiply<float>(parts, km, x, D, false, _xT, km, false, n, km, D, accumulate: true, parallel);
    }

    /// <summary>
    /// One target's logit, Σ_k α_k (W2_k ReLU(z_k) + b2_k) (SPEC D8, D10), in one pass with the ReLU fused: z_k is the
    /// item's part <paramref name="itemParts"/>[k·M..] plus, for a branch head with <paramref name="branchHeads"/>[k],
    /// its W1_f f (<paramref name="branchZ"/>[k·M..], K·M long), for the user head <paramref name="userPart"/>, and
    /// nothing else (a branch with an empty window: f = 0). Every head's terms go into the same two vector
    /// accumulators, summed across lanes once.
    /// </summary>
    public float Logit(ReadOnlySpan<float> itemParts, ReadOnlySpan<float> branchZ, ReadOnlySpan<bool> branchHeads, ReadOnlySpan<float> userPart) =>
        Logit<FloatRow, float>(itemParts, branchZ, branchHeads, userPart);

    /// <summary><see cref="Logit"/> of an item whose parts are bfloat16 bits (<see cref="ItemCachePrecision.BFloat16"/>), widened in registers.</summary>
    public float LogitBFloat16(ReadOnlySpan<ushort> itemParts, ReadOnlySpan<float> branchZ, ReadOnlySpan<bool> branchHeads, ReadOnlySpan<float> userPart) =>
        Logit<BFloat16Row, ushort>(itemParts, branchZ, branchHeads, userPart);

    /// <summary>(K·M) α_k w2_k of every head.</summary>
    public ReadOnlySpan<float> W2Alpha => _w2Alpha;

    /// <summary>
    /// A computed <see cref="Logit"/> lies within γ·S of its exact value, S = Σ |α w2| ReLU(z) over its terms plus
    /// |Σ α b2|, γ = (K·M + 64)·2⁻²⁴ (each FMA chain and the lane sums are shorter than K·M + 64 roundings). Two such
    /// logits of the same z and item rows within the slack of each other then differ by at most the slack plus
    /// this share, 4γ, of their magnitudes (S ≤ Σ |α w2| (|part| + |W1_f f|) + |Σ α b2|).
    /// </summary>
    public double RoundingShare => 4.0 * (ItemWidth + 64) * Math.Pow(2, -24);

    /// <summary>|Σ_k α_k b2_k|: the output bias's share of a logit's magnitude.</summary>
    public float OutputBiasMagnitude => MathF.Abs(_b2Alpha);

    private float Logit<TRow, TElem>(ReadOnlySpan<TElem> itemParts, ReadOnlySpan<float> branchZ, ReadOnlySpan<bool> branchHeads, ReadOnlySpan<float> userPart)
        where TRow : struct, IRow<TElem>
        where TElem : unmanaged
    {
        System.Diagnostics.Debug.Assert(itemParts.Length == ItemWidth, "one item's parts: K·M");
        ref TElem a = ref MemoryMarshal.GetReference(itemParts);
        ref float w = ref MemoryMarshal.GetArrayDataReference(_w2Alpha);
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0;
        float rest = 0;
        nuint m = (nuint)M, vectors = Vector512.IsHardwareAccelerated ? m / 16 * 16 : 0, pairs = vectors / 32 * 32;
        for (int k = 0; k < Heads; k++)
        {
            // Head k's slices; unsigned offsets, so each load addresses base + 4i.
            ref TElem ak = ref Unsafe.Add(ref a, (nuint)k * m);
            ref float wk = ref Unsafe.Add(ref w, (nuint)k * m);
            ref float b = ref MemoryMarshal.GetReference(Z(k, branchZ, branchHeads, userPart));
            nuint i = 0;
            for (; i < pairs; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Relu<TRow, TElem>(ref ak, ref b, i), Vector512.LoadUnsafe(ref wk, i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Relu<TRow, TElem>(ref ak, ref b, i + 16), Vector512.LoadUnsafe(ref wk, i + 16), acc1);
            }
            for (; i < vectors; i += 16)
                acc0 = Vector512.FusedMultiplyAdd(Relu<TRow, TElem>(ref ak, ref b, i), Vector512.LoadUnsafe(ref wk, i), acc0);
            for (; i < m; i++)
                rest = MathF.FusedMultiplyAdd(MathF.Max(TRow.Scalar(Unsafe.Add(ref ak, i)) + Unsafe.Add(ref b, i), 0f), Unsafe.Add(ref wk, i), rest);
        }
        return _b2Alpha + Vector512.Sum(acc0 + acc1) + rest;
    }

    /// <summary>σ(<paramref name="logit"/>) by <see cref="Simd{T}.Sigmoid"/>'s lane code: the bits the candidates' vector sigmoid gives.</summary>
    public static float Probability(float logit) => Simd<float>.Sigmoid(Vector512.Create(logit)).ToScalar();

    /// <summary>What head k adds to the item's part before the ReLU (<see cref="Logit"/>).</summary>
    private ReadOnlySpan<float> Z(int k, ReadOnlySpan<float> branchZ, ReadOnlySpan<bool> branchHeads, ReadOnlySpan<float> userPart) =>
        branchHeads[k] ? branchZ.Slice(k * M, M) : HasUserHead && k == Heads - 1 ? userPart : _zeros;

    /// <summary>max(a[i..] + b[i..], 0), sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Relu<TRow, TElem>(ref TElem a, ref float b, nuint i)
        where TRow : struct, IRow<TElem>
        where TElem : unmanaged =>
        Vector512.Max(TRow.Load(ref a, i) + Vector512.LoadUnsafe(ref b, i), Vector512<float>.Zero);

    /// <summary>How a row of item parts is read as floats: as stored, or widened from bfloat16.</summary>
    private interface IRow<TElem> where TElem : unmanaged
    {
        static abstract Vector512<float> Load(ref TElem row, nuint i);
        static abstract float Scalar(TElem v);
    }

    private struct FloatRow : IRow<float>
    {
        public static Vector512<float> Load(ref float row, nuint i) => Vector512.LoadUnsafe(ref row, i);
        public static float Scalar(float v) => v;
    }

    /// <summary>A bfloat16 is a float's top 16 bits: widened to 32 and shifted up.</summary>
    private struct BFloat16Row : IRow<ushort>
    {
        public static Vector512<float> Load(ref ushort row, nuint i) =>
            Vector512.ShiftLeft(Vector512.WidenLower(Vector256.LoadUnsafe(ref row, i).ToVector512Unsafe()), 16).AsSingle();
        public static float Scalar(ushort v) => ItemCache.FromBFloat16(v);
    }
}
