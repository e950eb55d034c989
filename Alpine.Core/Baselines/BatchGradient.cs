using System.Numerics.Tensors;
using Alpine.Model;

namespace Alpine.Baselines;

/// <summary>
/// The gradient of one batch and the scores of many targets for a <see cref="BaselineNet"/>, over threads
/// without changing any sum (SPEC D13). A batch is cut into chunks that do not depend on the thread count:
/// pointwise, the runs of one user's consecutive targets, cut every <see cref="ChunkTargets"/> (each chunk one
/// group of <see cref="BaselineNet.ForwardGroup{T}"/>, so its targets share their user's work); pairwise, fixed
/// runs of <see cref="ChunkTargets"/> pairs. Each chunk sums into its own gradient buffer in order, and the chunk
/// buffers are added in chunk order.
/// </summary>
public sealed class BatchGradient
{
    /// <summary>Most targets (pairs) a chunk holds: enough work to amortise a chunk's gradient buffer, small enough to share out.</summary>
    public const int ChunkTargets = 128;
    /// <summary>Parameter elements per block of the chunk-sum.</summary>
    private const int SumBlock = 1 << 14;

    private readonly BaselineNet _net;
    private readonly ImpressionTargets _targets;
    private readonly ParallelOptions _parallel;
    private readonly List<float[]> _chunkGrad = [];
    private double[] _chunkLoss = [];
    private readonly ThreadLocal<Worker> _workers = new(() => new Worker());

    public BatchGradient(BaselineNet net, ImpressionTargets targets, int threads)
    {
        _net = net;
        _targets = targets;
        _parallel = Options(threads);
    }

    /// <summary>One worker thread's buffers: the groups' work and the logits of a chunk.</summary>
    private sealed class Worker
    {
        public readonly GroupWork<float> A = new(), B = new();
        public readonly float[] Logits = new float[ChunkTargets], LogitsB = new float[ChunkTargets], DLogits = new float[ChunkTargets];
    }

    /// <summary>
    /// Writes the gradient of the batch's mean BCE (SPEC "Loss") of each impression in <paramref name="batch"/>
    /// against its click into <paramref name="grad"/> (assigned) and returns that loss. A user's targets share their
    /// user's work where they are consecutive in <paramref name="batch"/> (as <see cref="Train.BatchPlan"/>'s pieces).
    /// </summary>
    public double Compute(float[] parameters, float[] grad, ReadOnlySpan<int> batch)
    {
        int[] pos = batch.ToArray();
        var chunks = Runs(pos, _targets.UserOf);
        float scale = 1f / pos.Length;
        return Sum(grad, chunks.Count, pos.Length, c =>
        {
            var (start, length) = chunks[c];
            Worker w = _workers.Value!;
            ReadOnlySpan<int> group = pos.AsSpan(start, length);
            Span<float> z = w.Logits.AsSpan(0, length), dz = w.DLogits.AsSpan(0, length);
            _net.ForwardGroup<float>(parameters, _targets, group, z, w.A);
            double loss = 0;
            for (int k = 0; k < length; k++)
            {
                loss += Bce(z[k], _targets.Clicked(group[k]) ? 1f : 0f, out float d);
                dz[k] = d * scale;
            }
            _net.BackwardGroup<float>(parameters, _chunkGrad[c], _targets, group, dz, w.A);
            return loss;
        });
    }

    /// <summary>
    /// As <see cref="Compute(float[], float[], ReadOnlySpan{int})"/> for BPR's criterion (Rendle et al. Eq. 4):
    /// −ln σ(x̂_first − x̂_negative) for each pair <paramref name="first"/>[i], <paramref name="negatives"/>[i],
    /// i from <paramref name="offset"/>, <paramref name="count"/> pairs. Each target is a group of its own.
    /// </summary>
    public double ComputePairs(float[] parameters, float[] grad, int[] first, int[] negatives, int offset, int count)
    {
        float scale = 1f / count;
        return Sum(grad, (count + ChunkTargets - 1) / ChunkTargets, count, c =>
        {
            Worker w = _workers.Value!;
            double loss = 0;
            for (int i = offset + c * ChunkTargets; i < offset + Math.Min(count, (c + 1) * ChunkTargets); i++)
            {
                Span<float> za = w.Logits.AsSpan(0, 1), zb = w.LogitsB.AsSpan(0, 1);
                _net.ForwardGroup<float>(parameters, _targets, [first[i]], za, w.A);
                _net.ForwardGroup<float>(parameters, _targets, [negatives[i]], zb, w.B);
                loss += Bce(za[0] - zb[0], 1f, out float dz);
                _net.BackwardGroup<float>(parameters, _chunkGrad[c], _targets, [first[i]], [dz * scale], w.A);
                _net.BackwardGroup<float>(parameters, _chunkGrad[c], _targets, [negatives[i]], [-dz * scale], w.B);
            }
            return loss;
        });
    }

    /// <summary>
    /// Runs <paramref name="chunk"/> (which returns its summed loss) for each chunk into its cleared buffer, then
    /// the chunk sum into <paramref name="grad"/>; returns the loss over <paramref name="examples"/>.
    /// </summary>
    private double Sum(float[] grad, int chunks, int examples, Func<int, double> chunk)
    {
        while (_chunkGrad.Count < chunks) _chunkGrad.Add(new float[grad.Length]);
        if (_chunkLoss.Length < chunks) _chunkLoss = new double[chunks];
        Parallel.For(0, chunks, _parallel, c =>
        {
            Array.Clear(_chunkGrad[c]);
            _chunkLoss[c] = chunk(c);
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
        return total / examples;
    }

    /// <summary>One logit per position; consecutive positions of one user are scored as one group (they share that user's work).</summary>
    public static void Score(BaselineNet net, ImpressionTargets targets, float[] parameters, ReadOnlySpan<int> positions, Span<float> logits, int threads)
    {
        if (positions.Length != logits.Length) throw new ArgumentException($"{positions.Length} positions but {logits.Length} logits");
        int[] pos = positions.ToArray();
        var outp = new float[pos.Length];
        var chunks = Runs(pos, targets.UserOf);
        using var work = new ThreadLocal<GroupWork<float>>(() => new GroupWork<float>());
        Parallel.For(0, chunks.Count, Options(threads), c =>
        {
            var (start, length) = chunks[c];
            net.ForwardGroup<float>(parameters, targets, pos.AsSpan(start, length), outp.AsSpan(start, length), work.Value!);
        });
        outp.CopyTo(logits);
    }

    /// <summary>The runs of consecutive positions of one user, each cut every <see cref="ChunkTargets"/>: (start, length).</summary>
    public static List<(int Start, int Length)> Runs(ReadOnlySpan<int> positions, int[] userOf)
    {
        var runs = new List<(int, int)>();
        for (int a = 0; a < positions.Length;)
        {
            int b = a + 1;
            while (b < positions.Length && b - a < ChunkTargets && userOf[positions[b]] == userOf[positions[a]]) b++;
            runs.Add((a, b - a));
            a = b;
        }
        return runs;
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
