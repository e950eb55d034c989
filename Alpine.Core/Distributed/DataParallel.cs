using Alpine.Data;
using Alpine.Eval;
using Alpine.Model;
using Alpine.Train;

namespace Alpine.Distributed;

/// <summary>
/// One global batch's gradient computed in parts, then one Adam step that every rank applies alike: the
/// trainer's path for data-parallel training (a share of each batch per rank of <see cref="Group"/>) and for a
/// batch whose activations exceed the memory budget (a share in chunks, one after another).
/// <para>The parts are combined so the result is the gradient of the mean loss over the whole batch: a chunk's
/// gradient (of the mean over its n targets, with the L2 term) is weighted n/B, chunks are summed in float64
/// into the rank's share, shares are gathered as float32 and summed in rank order in float64, rounded once.
/// Every rank sums the same floats in the same order, so all ranks hold the same gradient, and a rerun with the
/// same rank count and budget gives the same bits. Against one process with the batch whole, what differs is
/// rounding: the sums over targets inside the backward (its weight-gradient GEMMs, the BCE mean) run per part,
/// a part's 1/n and n/B stand for 1/B, the L2 gradient λ·w enters once per part weighted n/B, and each share
/// is rounded to float32 before the rank sum. The test holds these within 1e-6 of the gradient's norm.</para>
/// A batch that fits one part in a group of one takes the backend's own path, bit-identical to training without this.
/// </summary>
public sealed class DataParallel
{
    private readonly IAlpineBackend _backend;
    private readonly Batcher _batcher;
    private readonly long _maxCellSteps;
    private readonly int _size;
    // Allocated at the first batch in parts (a whole batch in one process needs none of them).
    private float[] _g = [], _share = [], _all = [];
    private double[] _sum = [];
    private float[] _logits = [];
    private float[]? _p, _m, _v;
    private bool _backendHoldsGradient;

    public IRankGroup Group { get; }

    /// <summary>Floats each rank sends a step: one per parameter.</summary>
    public int GradientFloats => _size;

    /// <summary>Each step's compute and exchange on this rank (<see cref="StepTimes.Summary"/> pairs them across ranks).</summary>
    public StepTimes Times { get; } = new();

    /// <summary>Whether this rank writes the run's files, logs and prints (rank 0).</summary>
    public bool Writes => Group.Rank == 0;

    /// <param name="maxCellSteps">The memory budget in LSTM cell-steps of one part (<see cref="BatchShares.BytesPerCellStep"/>).</param>
    public DataParallel(IAlpineBackend backend, Batcher batcher, IRankGroup group, long maxCellSteps)
    {
        if (maxCellSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxCellSteps), "the budget must allow one cell-step");
        _backend = backend; _batcher = batcher; Group = group; _maxCellSteps = maxCellSteps;
        _size = backend.Layout.Size;
        if ((long)_size * group.Size > Array.MaxLength)
            throw new UsageException($"{group.Size} ranks × {_size:N0} parameters do not fit one gather buffer; use fewer ranks");
    }

    /// <summary>
    /// Computes the gradient of <paramref name="batch"/>'s mean loss (this rank's share; all ranks call this with
    /// the same batch) and returns the mean loss over the whole batch and the LSTM cell-steps all ranks ran.
    /// </summary>
    public (float Loss, long CellSteps) ForwardBackward(int[] batch)
    {
        double cpu = StepTimes.ProcessCpuSeconds();
        int[][] shares = BatchShares.Shares(batch, _batcher.UserOf, Group.Size);
        List<int[]> chunks = BatchShares.Chunks(shares[Group.Rank], _batcher, _maxCellSteps);
        if (Group.Size == 1 && chunks.Count == 1)
        {
            var whole = _batcher.Build(batch);
            _backend.ZeroGradients();
            float loss = _backend.ForwardBackward(whole, Logits(whole.TargetCount));
            _backendHoldsGradient = true;
            Times.Add(StepTimes.ProcessCpuSeconds() - cpu, 0);
            return (loss, Batcher.CellSteps(whole));
        }
        _backendHoldsGradient = false;
        if (_sum.Length == 0)
        {
            (_g, _share, _sum) = (new float[_size], new float[_size], new double[_size]);
            _all = Group.Size > 1 ? new float[_size * Group.Size] : _share;
        }
        Array.Clear(_sum);
        double lossSum = 0;
        long cellSteps = 0;
        foreach (int[] chunk in chunks)
        {
            if (chunk.Length == 0) continue; // a rank without users this batch adds nothing
            var part = _batcher.Build(chunk);
            _backend.ZeroGradients();
            float loss = _backend.ForwardBackward(part, Logits(part.TargetCount));
            _backend.CopyGradientsTo(_g);
            double weight = (double)chunk.Length / batch.Length;
            for (int i = 0; i < _size; i++) _sum[i] += weight * _g[i];
            lossSum += (double)loss * chunk.Length;
            cellSteps += Batcher.CellSteps(part);
        }
        for (int i = 0; i < _size; i++) _share[i] = (float)_sum[i];
        double compute = StepTimes.ProcessCpuSeconds() - cpu;
        long exchangeStart = System.Diagnostics.Stopwatch.GetTimestamp();
        if (Group.Size > 1) Group.AllGather(_share, _all);
        for (int i = 0; i < _size; i++)
        {
            double s = 0;
            for (int r = 0; r < Group.Size; r++) s += _all[(long)r * _size + i];
            _g[i] = (float)s;
        }
        var totals = SumOverRanks(lossSum, cellSteps);
        Times.Add(compute, System.Diagnostics.Stopwatch.GetElapsedTime(exchangeStart).TotalSeconds);
        return ((float)(totals[0] / batch.Length), (long)totals[1]);
    }

    /// <summary>The gradient the next <see cref="Step"/> applies (the latest <see cref="ForwardBackward"/>'s).</summary>
    internal void CopyGradientTo(Span<float> destination)
    {
        if (_backendHoldsGradient) _backend.CopyGradientsTo(destination);
        else _g.CopyTo(destination);
    }

    /// <summary>The Adam step (1-based <paramref name="step"/>) on the gradient of the latest <see cref="ForwardBackward"/>.</summary>
    public void Step(in AdamSettings settings, int step)
    {
        if (_backendHoldsGradient) { _backend.Step(settings, step); return; }
        // The backend's rule (Adam.Step) on host copies of its buffers: the interface loads parameters and moments, not gradients.
        _p ??= new float[_size]; _m ??= new float[_size]; _v ??= new float[_size];
        _backend.CopyParametersTo(_p);
        _backend.CopyOptimizerStateTo(_m, _v);
        Adam.Step(_p, _g, _m, _v, settings, step);
        _backend.LoadParameters(_p);
        _backend.LoadOptimizerState(_m, _v);
    }

    /// <summary>
    /// <see cref="Evaluator.Evaluate"/> split across the ranks: the same scoring batches, contiguous runs of them
    /// per rank, each cut to the memory budget, the logits gathered in position order, so every rank computes the
    /// metrics one process would.
    /// </summary>
    public MetricReport Evaluate(SplitPart part, int batchSize)
    {
        if (Group.Size == 1) return Evaluator.Evaluate(_backend, _batcher, part, batchSize, maxCellSteps: _maxCellSteps);
        int[] targets = _batcher.PositionsOf(part);
        int[][] batches = BatchPlan.ForScoring(targets, _batcher.UserOf, batchSize);
        var counts = new int[Group.Size];
        var mine = new List<int[]>();
        long before = 0;
        foreach (int[] b in batches)
        {
            int r = (int)Math.Min(Group.Size - 1, (2 * before + b.Length) * Group.Size / (2L * Math.Max(1, targets.Length)));
            counts[r] += b.Length;
            if (r == Group.Rank) mine.Add(b);
            before += b.Length;
        }
        var local = new float[counts[Group.Rank]];
        int done = 0;
        foreach (int[] b in mine)
        {
            Evaluator.PredictWithin(_backend, _batcher, b, local.AsSpan(done, b.Length), _maxCellSteps);
            done += b.Length;
        }
        var logits = new float[targets.Length];
        Group.AllGatherVariable(local, logits, counts);
        return Evaluator.Score(_batcher, targets, logits);
    }

    /// <summary>
    /// Refuses to train when this rank's data or starting step differs from rank 0's: ranks that read other
    /// data, or another copy of a checkpoint, would compute gradients of different models and still sum them.
    /// </summary>
    public void RequireSameStart(string dataDir, string fingerprint, long step)
    {
        if (Group.Size == 1) return;
        // 13 hex digits of the SHA-256 fingerprint: an integer a double holds exactly.
        double key = fingerprint.Length >= 13 && long.TryParse(fingerprint.AsSpan(0, 13), System.Globalization.NumberStyles.HexNumber, null, out long k) ? k : -1;
        var all = new double[2 * Group.Size];
        Group.AllGather([key, step], all);
        if (all[0] != key)
            throw new UsageException($"{dataDir} on rank {Group.Rank} is not the prepared data of rank 0 (fingerprint {fingerprint}); every rank needs the same prepared data folder");
        if (all[1] != step)
            throw new UsageException($"rank {Group.Rank} starts at step {step} and rank 0 at step {all[1]}: every rank needs the same RUN/checkpoint.alp to resume");
    }

    /// <summary>Whether <paramref name="flag"/> holds on any rank (a stop asked for on one stops all at one batch).</summary>
    public bool OnAnyRank(bool flag) => Group.Size == 1 ? flag : SumOverRanks(flag ? 1 : 0, 0)[0] > 0;

    /// <summary>Two numbers summed over the ranks in rank order.</summary>
    private double[] SumOverRanks(double a, double b)
    {
        var all = new double[2 * Group.Size];
        Group.AllGather([a, b], all);
        var sum = new double[2];
        for (int r = 0; r < Group.Size; r++) { sum[0] += all[2 * r]; sum[1] += all[2 * r + 1]; }
        return sum;
    }

    private Span<float> Logits(int n)
    {
        if (_logits.Length < n) _logits = new float[n];
        return _logits.AsSpan(0, n);
    }
}
