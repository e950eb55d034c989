using System.Numerics.Tensors;
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
    private readonly float[][] _w2;
    private readonly float[] _b2;
    private readonly float[] _userPart;

    public HeadParts(ModelConfig config, ModelLayout layout, float[] p, int threads)
    {
        (D, H, M, Heads) = (config.ItemDim, config.HiddenSize, config.MlpHidden, layout.Heads);
        int km = Heads * M;
        _xT = new float[D * km];
        _bias = new float[km];
        _otherT = new float[Heads][];
        _w2 = new float[Heads][];
        _b2 = new float[Heads];
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
            _w2[k] = head.W2.Of(p).ToArray();
            _b2[k] = head.B2.Of(p)[0];
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

    /// <summary>Head k's output from its activations a = ReLU(z) (M): W2 a + b2.</summary>
    public float Output(int head, ReadOnlySpan<float> a) => TensorPrimitives.Dot<float>(a, _w2[head]) + _b2[head];
}
