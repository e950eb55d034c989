using System.Numerics.Tensors;
using Alpine.Model;

namespace Alpine.Baselines;

/// <summary>
/// The gradient of one batch and the scores of many targets for a <see cref="BaselineNet"/>, over threads
/// without changing any sum (SPEC D13): a batch is cut into fixed chunks of <see cref="ChunkTargets"/> examples
/// whatever the thread count; each chunk runs its examples in order into its own gradient buffer, and the chunk
/// buffers are added in chunk order. Buffers are allocated once, for the largest batch.
/// </summary>
public sealed class BatchGradient
{
    /// <summary>Examples per chunk: enough work to amortise a chunk's gradient buffer, small enough to share out.</summary>
    public const int ChunkTargets = 128;
    /// <summary>Parameter elements per block of the chunk-sum.</summary>
    private const int SumBlock = 1 << 14;

    private readonly BaselineNet _net;
    private readonly ImpressionTargets _targets;
    private readonly ParallelOptions _parallel;
    private readonly float[][] _chunkGrad;
    private readonly float[][] _actA, _actB, _scratch;
    private readonly double[] _chunkLoss;

    public BatchGradient(BaselineNet net, ImpressionTargets targets, int batchSize, int threads)
    {
        _net = net;
        _targets = targets;
        _parallel = Options(threads);
        int chunks = Math.Max(1, (batchSize + ChunkTargets - 1) / ChunkTargets);
        _chunkGrad = Enumerable.Range(0, chunks).Select(_ => new float[net.Layout.Size]).ToArray();
        _actA = Enumerable.Range(0, chunks).Select(_ => new float[net.ActivationSize]).ToArray();
        _actB = Enumerable.Range(0, chunks).Select(_ => new float[net.ActivationSize]).ToArray();
        _scratch = Enumerable.Range(0, chunks).Select(_ => new float[net.ScratchSize]).ToArray();
        _chunkLoss = new double[chunks];
    }

    /// <summary>
    /// Writes the gradient of the batch's mean loss into <paramref name="grad"/> (assigned) and returns that loss.
    /// Pointwise (<paramref name="negatives"/> empty): BCE of each impression against its click (SPEC "Loss").
    /// Pairwise: −ln σ(x̂_first − x̂_negative), BPR's criterion (Rendle et al. Eq. 4), for each pair.
    /// </summary>
    public double Compute(float[] parameters, float[] grad, int[] first, int[]? negatives, int offset, int count)
    {
        int chunks = (count + ChunkTargets - 1) / ChunkTargets;
        System.Diagnostics.Debug.Assert(chunks <= _chunkGrad.Length && grad.Length == parameters.Length);
        float scale = 1f / count;
        Parallel.For(0, chunks, _parallel, c =>
        {
            float[] g = _chunkGrad[c], actA = _actA[c], actB = _actB[c], scratch = _scratch[c];
            Array.Clear(g);
            double loss = 0;
            int lo = offset + c * ChunkTargets, hi = offset + Math.Min(count, (c + 1) * ChunkTargets);
            for (int i = lo; i < hi; i++)
            {
                Target a = _targets.At(first[i], _net.Window);
                float z = _net.Forward<float>(parameters, a, actA);
                if (negatives is null)
                {
                    float y = _targets.Clicked(first[i]) ? 1f : 0f;
                    loss += Bce(z, y, out float dz);
                    _net.Backward<float>(parameters, g, a, dz * scale, actA, scratch);
                }
                else
                {
                    Target b = _targets.At(negatives[i], _net.Window);
                    float zb = _net.Forward<float>(parameters, b, actB);
                    loss += Bce(z - zb, 1f, out float dz);
                    _net.Backward<float>(parameters, g, a, dz * scale, actA, scratch);
                    _net.Backward<float>(parameters, g, b, -dz * scale, actB, scratch);
                }
            }
            _chunkLoss[c] = loss;
        });
        int blocks = (grad.Length + SumBlock - 1) / SumBlock;
        Parallel.For(0, blocks, _parallel, k =>
        {
            int lo = k * SumBlock, n = Math.Min(SumBlock, grad.Length - lo);
            Span<float> dst = grad.AsSpan(lo, n);
            _chunkGrad[0].AsSpan(lo, n).CopyTo(dst);
            for (int c = 1; c < chunks; c++) TensorPrimitives.Add(dst, _chunkGrad[c].AsSpan(lo, n), dst);
        });
        double total = 0;
        for (int c = 0; c < chunks; c++) total += _chunkLoss[c];
        return total / count;
    }

    /// <summary>One logit per position, each from its own forward (the chunks only share out the work).</summary>
    public static void Score(BaselineNet net, ImpressionTargets targets, float[] parameters, ReadOnlySpan<int> positions, Span<float> logits, int threads)
    {
        if (positions.Length != logits.Length) throw new ArgumentException($"{positions.Length} positions but {logits.Length} logits");
        int[] pos = positions.ToArray();
        var outp = new float[pos.Length];
        int chunks = (pos.Length + ChunkTargets - 1) / ChunkTargets;
        var act = new ThreadLocal<float[]>(() => new float[net.ActivationSize]);
        Parallel.For(0, chunks, Options(threads), c =>
        {
            float[] a = act.Value!;
            for (int i = c * ChunkTargets; i < Math.Min(pos.Length, (c + 1) * ChunkTargets); i++)
                outp[i] = net.Forward<float>(parameters, targets.At(pos[i], net.Window), a);
        });
        act.Dispose();
        outp.CopyTo(logits);
    }

    private static ParallelOptions Options(int threads) =>
        new() { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };

    /// <summary>BCE with logits for one example (<see cref="Loss.BceForward{T}"/>) and its derivative σ(z) − y.</summary>
    private static double Bce(float z, float y, out float dz)
    {
        ReadOnlySpan<float> zs = new(in z), ys = new(in y);
        dz = 0;
        Loss.BceBackward(new Span<float>(ref dz), zs, ys);
        return Loss.BceForward(zs, ys);
    }
}
