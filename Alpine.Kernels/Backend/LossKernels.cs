using ILGPU.Algorithms;
using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>Fusion over the K computed heads (SPEC D10): K ≤ 3 weights, head k's logits at row k of (K, B).</summary>
public struct FusionArgs
{
    public int K, B;
    public float A0, A1, A2;
    public readonly float Alpha(int k) => k == 0 ? A0 : k == 1 ? A1 : A2;

    public static FusionArgs Of(ReadOnlySpan<float> alphas, int b) => new()
    {
        K = alphas.Length, B = b,
        A0 = alphas.Length > 0 ? alphas[0] : 0f, A1 = alphas.Length > 1 ? alphas[1] : 0f, A2 = alphas.Length > 2 ? alphas[2] : 0f,
    };
}

/// <summary>The device twins of <see cref="Alpine.Model.Loss"/>: fusion, BCE-with-logits backward, L2.</summary>
public static class LossKernels
{
    /// <summary>Effectively computes logits[t] = Σ_k α_k headLogits[k, t], k in order (one thread per target).</summary>
    public static void FusionForward(Index1D t, FusionArgs a, ArrayView<float> headLogits, ArrayView<float> logits)
    {
        float y = 0f;
        for (int k = 0; k < a.K; k++) y = headLogits[(long)k * a.B + t] * a.Alpha(k) + y;
        logits[t] = y;
    }

    /// <summary>Effectively computes dheadLogits[k, t] = α_k dlogits[t] (assigned; one thread per element of (K, B)).</summary>
    public static void FusionBackward(Index1D e, FusionArgs a, ArrayView<float> dlogits, ArrayView<float> dheadLogits)
    {
        int k = e / a.B, t = e % a.B;
        dheadLogits[e] = dlogits[t] * a.Alpha(k);
    }

    /// <summary>Effectively computes dlogits[t] = (σ(logits[t]) − labels[t])·inv with inv = 1/B (assigned), σ in
    /// the form that never overflows.</summary>
    public static void BceBackward(Index1D t, float inv, ArrayView<float> logits, ArrayView<float> labels, ArrayView<float> dlogits)
    {
        float z = logits[t];
        float e = XMath.Exp(-XMath.Abs(z));
        float p = z >= 0f ? 1f / (1f + e) : e / (1f + e);
        dlogits[t] = (p - labels[t]) * inv;
    }

    /// <summary>Elements per chunk of the L2 tensors' chunk table (<see cref="GpuL2"/>).</summary>
    public const int Chunk = 1024;
    public const int GroupSize = 64;

    /// <summary>partial[c] = Σ w² over chunk c of the L2 tensors (a fixed tree per group, one group per chunk), so
    /// the host's float64 sum of the partials is the same run to run.</summary>
    public static void L2SumPartial(ArrayView<int> chunkOffset, ArrayView<int> chunkLength, ArrayView<float> p, ArrayView<float> partial)
    {
        var acc = SharedMemory.Allocate<float>(GroupSize);
        int tid = Group.IdxX, c = Grid.IdxX;
        long start = chunkOffset[c];
        int length = chunkLength[c];
        float sum = 0f;
        for (int i = tid; i < length; i += GroupSize) { float w = p[start + i]; sum += w * w; }
        acc[tid] = sum;
        Group.Barrier();
        for (int half = GroupSize / 2; half > 0; half /= 2)
        {
            if (tid < half) acc[tid] += acc[tid + half];
            Group.Barrier();
        }
        if (tid == 0) partial[c] = acc[0];
    }

    /// <summary>Effectively computes g += λ·w over the L2 tensors (one thread per slot of a chunk: Chunk·chunks threads).</summary>
    public static void L2Backward(Index1D e, float lambda, ArrayView<int> chunkOffset, ArrayView<int> chunkLength,
        ArrayView<float> p, ArrayView<float> g)
    {
        int c = e / Chunk, i = e % Chunk;
        if (i >= chunkLength[c]) return;
        long at = chunkOffset[c] + (long)i;
        g[at] = p[at] * lambda + g[at];
    }
}
