using Alpine.Kernels.Device;
using Alpine.Kernels.Gemm;
using Alpine.Model;
using Alpine.Prep;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.GraphLstm;

/// <summary>Device views of one LSTM layer's parameters (or of their gradients), as in the flat layout.</summary>
public struct LstmWeightViews
{
    public ArrayView<float> Wx; // (GH, D)
    public ArrayView<float> Wh; // (4H, H)
    public ArrayView<float> Wg; // (4H, H); empty for umg
    public ArrayView<float> B;  // (GH)
}

/// <summary>How the recurrence is launched.</summary>
public enum CellSchedule
{
    /// <summary>One launch per step over all sequences active at that step.</summary>
    StepLaunch,
    /// <summary>One launch for all steps; each group owns a tile of sequences for the whole recurrence.</summary>
    Persistent,
}

/// <summary>
/// One graph-LSTM layer on the device (SPEC "Graph-LSTM cell"): the GPU twin of <c>Alpine.Cpu.GraphLstm</c>.
/// Forward: Gates = X·Wxᵀ + b (one GEMM for all steps), then the fused recurrence. Backward: the fused reverse
/// recurrence, then dX = DPre·Wx and the weight gradients as GEMMs over all steps at once.
/// Buffers grow to the largest SequenceSet seen and are reused.
/// </summary>
public sealed class GpuGraphLstm : IDisposable
{
    private readonly KernelSet _k;
    private readonly Accelerator _acc;
    private CellDims _dims;
    private int _count;       // B of the prepared set
    private int _total;       // N
    private readonly LongestFirst _longest = new();
    // The layout and schedule of the prepared set, as ranges of the batch's index upload (Pack).
    private IndexUpload? _up, _ownUpload;
    private IndexRange _offsets, _order, _activeRange, _pred;
    private readonly DeviceArray<float>[] _stepBuffers; // the (N, H) ones
    private readonly DeviceArray<float> _wrT, _gates, _c, _cs, _h, _hPrev, _hStar, _csPrev, _dh, _dc, _dcs, _dpre;

    public GpuGraphLstm(KernelSet kernels, int d, int h, bool useGraph, CStarReading cstar, int topL)
    {
        _k = kernels;
        _acc = kernels.Accelerator;
        _dims = new CellDims
        {
            D = d, H = h, G = ModelLayout.Gates(useGraph), TopL = topL, Graph = useGraph ? 1 : 0,
            Carried = cstar == CStarReading.Carried ? 1 : 0,
        };
        DeviceArray<float> F() => new(_acc);
        (_wrT, _gates, _c, _cs, _h, _hPrev, _hStar, _csPrev) = (F(), F(), F(), F(), F(), F(), F(), F());
        (_dh, _dc, _dcs, _dpre) = (F(), F(), F(), F());
        _stepBuffers = [_c, _cs, _h, _hPrev, _hStar, _csPrev, _dh, _dc, _dcs];
        SharedRowsLimit = int.MaxValue;
    }

    public CellDims Dims => _dims;
    /// <summary>Cap on the k-rows of the recurrent weights the persistent forward keeps in shared memory
    /// (tests lower it to exercise the split between shared and global reads).</summary>
    public int SharedRowsLimit { get; set; }
    /// <summary>Groups of the persistent kernels; 0 = sized from the device.</summary>
    public int PersistentGroups { get; set; }
    /// <summary>Sequences per group per step (1..4); 0 = chosen from B and the device (tiles only when there are
    /// enough sequences to keep every multiprocessor busy).</summary>
    public int SequenceTile { get; set; }
    /// <summary>h of every step, (N, H), valid after <see cref="Forward"/>.</summary>
    public ArrayView<float> Hidden => _h.View.SubView(0, (long)_total * _dims.H);
    public int TotalSteps => _total;

    /// <summary>Uploads the sequence layout and the time-major schedule (one copy; see <see cref="Pack"/>).</summary>
    public void Prepare(SequenceSet seqs)
    {
        _ownUpload ??= new IndexUpload(_k);
        _ownUpload.Clear();
        Pack(seqs, _ownUpload);
        _ownUpload.Upload();
    }

    /// <summary>
    /// The host half of <see cref="Prepare"/>: puts the sequence layout (offsets, graph predecessors) and the
    /// time-major schedule into <paramref name="up"/>, for the caller to upload with the rest of its batch (one copy
    /// per batch: a copy up from pageable memory waits for the stream, so copies issued between
    /// launches would stall the device). The schedule is <see cref="LongestFirst"/>. Host scratch only grows, so once shapes are seen
    /// this allocates nothing.
    /// </summary>
    public void Pack(SequenceSet seqs, IndexUpload up)
    {
        if (seqs.TopL != _dims.TopL) throw new ArgumentException($"sequence set has top-L {seqs.TopL}, the layer {_dims.TopL}");
        _up = up;
        _count = seqs.Count;
        _total = seqs.TotalSteps;
        _longest.Build(seqs);
        int maxT = _longest.Steps;
        (_offsets, _order, _activeRange, _pred) = (up.Add(seqs.Offsets.Length), up.Add(_count), up.Add(maxT), up.Add(seqs.GraphPred.Length));
        seqs.Offsets.AsSpan().CopyTo(up.Host(_offsets));
        seqs.GraphPred.AsSpan().CopyTo(up.Host(_pred));
        _longest.Order.AsSpan(0, _count).CopyTo(up.Host(_order));
        _longest.Active.AsSpan(0, maxT).CopyTo(up.Host(_activeRange));
        _dims.MaxT = maxT;
        long nh = (long)_total * _dims.H;
        foreach (var a in _stepBuffers) a.Ensure(nh);
        _gates.Ensure((long)_total * _dims.GH);
        _dpre.Ensure((long)_total * _dims.GH);
    }

    private CellViews Views(in LstmWeightViews w) => new()
    {
        Offsets = _up!.View(_offsets), Order = _up.View(_order), Active = _up.View(_activeRange), GraphPred = _up.View(_pred),
        WrT = _wrT.View, Wh = w.Wh, Wg = _dims.Graph != 0 ? w.Wg : w.Wh,
        Gates = _gates.View, C = _c.View, Cs = _cs.View, Hs = _h.View, HPrev = _hPrev.View, HStar = _hStar.View,
        CsPrev = _csPrev.View, DH = _dh.View, DC = _dc.View, DCs = _dcs.View, DPre = _dpre.View,
    };

    private int GroupSize => Math.Min(_acc.MaxNumThreadsPerGroup, Math.Max(32, (_dims.H + 31) / 32 * 32));

    /// <summary>h for every step of the prepared set from x (N, D) on the device; result in <see cref="Hidden"/>.</summary>
    public void Forward(in LstmWeightViews w, ArrayView<float> x, CellSchedule schedule)
    {
        int n = _total, d = _dims.D, h = _dims.H, gh = _dims.GH;
        if (n == 0) return;
        // Gates = X·Wxᵀ + b for all steps at once (SPEC "Fusion").
        var proj = new GemmDims { M = n, N = gh, K = d, Sam = d, Sak = 1, Sbk = 1, Sbn = d, Ldc = gh, HasBias = 1 };
        _k.RunGemm(proj, x, w.Wx, w.B, _gates.View);
        var wrT = _wrT.Ensure((long)h * gh);
        var dims = TiledDims();
        _k.FuseRecurrentWeights((int)wrT.Length, dims, w.Wh, dims.Graph != 0 ? w.Wg : w.Wh, wrT);
        var views = Views(w);
        int gs = GroupSize, fixedShared = CellKernels.ForwardSharedFloats(h);
        if (schedule == CellSchedule.StepLaunch)
        {
            var shared = SharedMemoryConfig.RequestDynamic<float>(fixedShared);
            for (int t = 0; t < dims.MaxT; t++)
                _k.ForwardStep(new KernelConfig(Tiles(_longest.Active[t], dims), gs, shared), t, dims, views);
        }
        else
        {
            // Keep as many k-rows of the fused recurrent weights on chip as the group's shared memory allows.
            long budget = _acc.MaxSharedMemoryPerGroup / sizeof(float) - fixedShared;
            dims.SharedRows = (int)Math.Clamp(budget / gh, 0, Math.Min(h, SharedRowsLimit));
            var shared = SharedMemoryConfig.RequestDynamic<float>(fixedShared + dims.SharedRows * gh);
            _k.ForwardPersistent(new KernelConfig(PersistentGroupCount(dims), gs, shared), dims, views);
        }
    }

    private CellDims TiledDims()
    {
        var dims = _dims;
        int auto = Math.Clamp(_count / Math.Max(1, 2 * _acc.NumMultiprocessors), 1, CellKernels.MaxTile);
        dims.SeqTile = Math.Clamp(SequenceTile > 0 ? SequenceTile : auto, 1, CellKernels.MaxTile);
        // The backward keeps a tile's gate gradients (SeqTile·8H floats) in shared memory: shrink the tile to fit.
        long sharedFloats = _acc.MaxSharedMemoryPerGroup / sizeof(float);
        while (dims.SeqTile > 1 && CellKernels.BackwardSharedFloats(dims.GH, dims.SeqTile) > sharedFloats) dims.SeqTile--;
        if (CellKernels.BackwardSharedFloats(dims.GH, 1) > sharedFloats || CellKernels.ForwardSharedFloats(dims.H) > sharedFloats)
            throw new NotSupportedException($"H = {dims.H} needs more shared memory per group than the device's {_acc.MaxSharedMemoryPerGroup} bytes");
        return dims;
    }

    private static int Tiles(int sequences, in CellDims d) => (sequences + d.SeqTile - 1) / d.SeqTile;

    private int PersistentGroupCount(in CellDims d)
    {
        int groups = PersistentGroups > 0 ? PersistentGroups : Math.Max(1, _acc.NumMultiprocessors * Math.Max(1, _acc.MaxNumThreadsPerMultiprocessor / GroupSize));
        return Math.Min(groups, Math.Max(1, Tiles(_count, d)));
    }

    /// <summary>
    /// Backward through the prepared forward: dx (N, D) is assigned (not computed when it is an invalid view); gradients are accumulated into
    /// <paramref name="grad"/> (STYLE.md: parameter gradients +=, activation gradients =).
    /// </summary>
    public void Backward(in LstmWeightViews w, ArrayView<float> x, ArrayView<float> dh, ArrayView<float> dx,
        in LstmWeightViews grad, CellSchedule schedule)
    {
        int n = _total, d = _dims.D, h = _dims.H, gh = _dims.GH;
        if (n == 0) return;
        long nh = (long)n * h;
        dh.SubView(0, nh).CopyTo(_dh.View.SubView(0, nh));
        _dc.View.SubView(0, nh).MemSetToZero();
        _dcs.View.SubView(0, nh).MemSetToZero();
        var dims = TiledDims();
        var views = Views(w);
        var shared = SharedMemoryConfig.RequestDynamic<float>(CellKernels.BackwardSharedFloats(gh, dims.SeqTile));
        int gs = GroupSize;
        if (schedule == CellSchedule.StepLaunch)
            for (int t = dims.MaxT - 1; t >= 0; t--)
                _k.BackwardStep(new KernelConfig(Tiles(_longest.Active[t], dims), gs, shared), t, dims, views);
        else
            _k.BackwardPersistent(new KernelConfig(PersistentGroupCount(dims), gs, shared), dims, views);

        var dpre = _dpre.View;
        // dX = DPre·Wx: (N, GH)·(GH, D); skipped (an invalid dx) when x has no trained parts.
        if (dx.IsValid) _k.RunGemm(new GemmDims { M = n, N = d, K = gh, Sam = gh, Sak = 1, Sbk = d, Sbn = 1, Ldc = d }, dpre, w.Wx, default, dx);
        // dWx += DPreᵀ·X: (GH, N)·(N, D).
        _k.RunGemm(new GemmDims { M = gh, N = d, K = n, Sam = 1, Sak = gh, Sbk = d, Sbn = 1, Ldc = d, Accumulate = 1 }, dpre, x, default, grad.Wx);
        // dWh += DPre[:, 0:4H]ᵀ·H_{t−1}; dW*h += DPre[:, 4H:8H]ᵀ·h*.
        var rec = new GemmDims { M = 4 * h, N = h, K = n, Sam = 1, Sak = gh, Sbk = h, Sbn = 1, Ldc = h, Accumulate = 1 };
        _k.RunGemm(rec, dpre, _hPrev.View, default, grad.Wh);
        if (dims.Graph != 0) _k.RunGemm(rec, dpre.SubView(4 * h), _hStar.View, default, grad.Wg);
        _k.AddColumnSumsOf(dpre, n, gh, grad.B);
    }

    public void Dispose()
    {
        _ownUpload?.Dispose();
        foreach (var a in new IDisposable[] { _wrT, _gates, _c, _cs, _h, _hPrev, _hStar, _csPrev, _dh, _dc, _dcs, _dpre })
            a.Dispose();
    }
}
