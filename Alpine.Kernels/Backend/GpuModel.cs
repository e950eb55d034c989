using Alpine.Data;
using Alpine.Kernels.Attention;
using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using Alpine.Kernels.Mlp;
using Alpine.Model;
using Alpine.Prep;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>
/// The whole ALPINE model on the device for one <see cref="Batch"/>: the twin of <c>Alpine.Cpu.CpuModel</c> (same
/// structure, same order of every sum that a fan-in makes). Per sequence branch: gather x → graph-LSTM
/// (<see cref="GpuGraphLstm"/>) → query → attention (<see cref="GpuAttention"/>) → MLP head (<see cref="GpuMlp"/>);
/// the multi-level head on the user matrix; fusion; loss. Parameters and gradients are device views of the flat
/// layout; per batch the index arrays, the LSTM schedules and the labels go up in one packed copy
/// (<see cref="IndexUpload"/>) and the logits with the L2 partials come down in one copy, after the backward has been
/// launched, so a train step never makes the device wait for the host in the middle of its launches. The fan-ins (user rows, category rows, dx_new) run without atomics in the CPU's order (SPEC D13).
/// </summary>
public sealed partial class GpuModel : IDisposable
{
    private readonly KernelSet _k;
    private readonly ModelConfig _c;
    private readonly int _d, _h, _m;
    private readonly ItemDims _itemDims;
    private readonly int[]? _itemCategory;
    private readonly int _categoryCount, _userCount;
    private readonly ModelLayout _layout;
    private readonly Branch[] _branches;
    private readonly Head? _user;
    // Fixed item inputs, uploaded once: visual (items, Dv); each item's category id (thacil).
    private readonly DeviceArray<float> _visual;
    private readonly DeviceArray<int> _itemCategoryDev;
    private readonly GpuL2 _l2;
    // Per batch: index arrays; (B) labels; (B,D) x_new; (K,B) head logits and theirs; (B) fused logits and theirs;
    // dx of every row whose x has trained parts: [click rows; notclick rows; targets] × D (thacil only).
    private readonly IndexUpload _up;
    private readonly FanIn _userFanIn = new(), _categoryFanIn = new(split: true);
    private readonly DeviceArray<float> _pieceSums; // (pieces, Dc) the category fan-in's first level
    private int[] _keys = [];
    private float[] _down = []; // the host side of the one copy down: [logits (B) ; L2 partials]
    private readonly DeviceArray<float> _xNew, _headLogits, _dheadLogits, _logits, _dlogits, _dxAll;
    private IndexRange _targetUser, _targetItem, _labels;
    private Batch? _batch;
    private int _b, _branchRows; // targets; rows of all branches' sequences

    public GpuModel(KernelSet kernels, ModelConfig config, ModelLayout layout, ItemTable items, int userCount)
    {
        config.Validate();
        if (items.VisualDim != config.VisualDim) throw new ArgumentException($"item table has {items.VisualDim} visual dims, the model {config.VisualDim}");
        if (config.Profile == Profile.Thacil && items.Category == null)
            throw new ArgumentException("the thacil profile needs item categories, and the item table has none", nameof(items));
        _k = kernels; _c = config; _layout = layout; _userCount = userCount;
        Accelerator a = kernels.Accelerator;
        (_d, _h, _m) = (config.ItemDim, config.HiddenSize, config.MlpHidden);
        _itemDims = new ItemDims { Dc = config.ItemDim - config.VisualDim, Dv = config.VisualDim };
        _visual = new DeviceArray<float>(a);
        _visual.Ensure(items.Visual.Length).CopyFromCPU(items.Visual);
        _itemCategoryDev = new DeviceArray<int>(a);
        if (_itemDims.Dc > 0)
        {
            _itemCategory = items.Category!;
            _categoryCount = items.CategoryCount;
            _itemCategoryDev.Ensure(_itemCategory.Length).CopyFromCPU(_itemCategory);
        }
        _up = new IndexUpload(kernels);
        DeviceArray<float> F() => new(a);
        (_xNew, _headLogits, _dheadLogits, _logits, _dlogits, _dxAll, _pieceSums) = (F(), F(), F(), F(), F(), F(), F());

        _branches = [.. layout.Branches.Select(t => new Branch(this, t))];
        if (layout.UserHead is { } user) _user = new Head(this, user);
        _l2 = new GpuL2(kernels, layout.Parameters, config.L2);
    }

    public ParameterLayout Layout => _layout.Parameters;
    /// <summary>How the graph-LSTM recurrences are launched.</summary>
    public CellSchedule Schedule { get; set; } = CellSchedule.StepLaunch;
    private int Heads => _layout.Heads;
    private bool TrainsX => _layout.TrainsX;

    /// <summary>
    /// Forward for the batch with parameters <paramref name="p"/> (the flat layout on the device): writes one
    /// logit per target to the host and keeps what <see cref="Backward"/> needs.
    /// </summary>
    public void Forward(Batch batch, ArrayView<float> p, Span<float> logits)
    {
        CheckRoom(batch, logits);
        LaunchForward(batch, p, l2: false);
        _k.Download(_logits.View, logits[.._b]);
    }

    /// <summary>Forward, backward (adding d(loss)/dθ to <paramref name="g"/>) and the loss: every launch is queued
    /// first, then one copy brings the logits and the L2 partials down (the step's only wait for the device).
    /// The loss is the mean BCE of those logits, summed in float64 exactly as the CPU model does
    /// (<see cref="Loss.BceForward{T}"/>), plus the L2 term from the partials (SPEC "Loss").</summary>
    public double ForwardBackward(Batch batch, ArrayView<float> p, ArrayView<float> g, Span<float> logits)
    {
        CheckRoom(batch, logits);
        LaunchForward(batch, p, l2: true);
        Backward(batch, p, g);
        int b = _b, n = b + _l2.Chunks;
        if (_down.Length < n) _down = new float[n];
        _k.Download(_logits.View, _down.AsSpan(0, n));
        _down.AsSpan(0, b).CopyTo(logits);
        return Loss.BceForward<float>(logits[..b], batch.Label) + _l2.Value(_down.AsSpan(b, _l2.Chunks));
    }

    private static void CheckRoom(Batch batch, Span<float> logits)
    {
        if (logits.Length < batch.TargetCount)
            throw new ArgumentException($"need room for {batch.TargetCount} logits, got {logits.Length}", nameof(logits));
    }

    /// <summary>Queues the forward: the fused logits land in the first B floats of <c>_logits</c>, and with
    /// <paramref name="l2"/> the L2 partials after them (so one copy brings both down).</summary>
    private void LaunchForward(Batch batch, ArrayView<float> p, bool l2)
    {
        int b = _b = batch.TargetCount, d = _d;
        _batch = batch;
        Upload(batch);
        var xNew = _xNew.Ensure((long)b * d);
        GatherX(xNew, _up.View(_targetItem), p);
        foreach (Branch s in _branches) s.Forward(p);
        if (_user is { } user)
        {
            // u = [U[user] ; x_new] (SPEC D8, D9)
            var u = user.Input(b);
            if (b > 0)
            {
                _k.GatherRows(b * d, RowBlock.Copy(d, d, 0, 2 * d, 0), _up.View(_targetUser), Of(_layout.UserMatrix!.Value, p), u);
                _k.CopyBlock(b * d, RowBlock.Copy(d, d, 0, 2 * d, d), xNew, u);
            }
            user.Forward(p, HeadLogits(Heads - 1));
        }
        var down = _logits.Ensure(b + _l2.Chunks);
        if (b > 0) _k.FusionForward(b, FusionArgs.Of(_layout.Alphas, b), _headLogits.View, down.SubView(0, b));
        if (l2) _l2.Launch(p, down.SubView(b, _l2.Chunks));
    }

    /// <summary>Backward of the last <see cref="Forward"/> (same batch and parameters): adds d(loss)/dθ to <paramref name="g"/>.</summary>
    public void Backward(Batch batch, ArrayView<float> p, ArrayView<float> g)
    {
        if (!ReferenceEquals(batch, _batch)) throw new InvalidOperationException("Backward needs the batch of the latest Forward");
        if (batch.Label.Length != batch.TargetCount)
            throw new ArgumentException($"training needs one label per target: {batch.TargetCount} targets, {batch.Label.Length} labels", nameof(batch));
        int b = _b, d = _d;
        var dlogits = _dlogits.Ensure(b);
        var dhead = _dheadLogits.Ensure((long)Heads * b);
        if (b > 0)
        {
            _k.BceBackward(b, 1f / b, _logits.View, _up.FloatView(_labels), dlogits);
            _k.FusionBackward(Heads * b, FusionArgs.Of(_layout.Alphas, b), dlogits, dhead);
        }
        if (TrainsX) DxNew().MemSetToZero();
        if (_user is { } user)
        {
            var du = user.Backward(p, g, DHeadLogits(Heads - 1));
            // Fan-in: targets of one user add into one row, in target order (SPEC D13).
            _userFanIn.Add(_k, _up, RowBlock.Copy(d, 2 * d, 0, d, 0), du, Of(_layout.UserMatrix!.Value, g), _pieceSums);
        }
        foreach (Branch s in _branches) s.Backward(p, g);
        if (TrainsX)
        {
            // Fan-in: every row whose item has category c adds into row c, in the CPU's order (click rows, not-click
            // rows, targets); only the category part of dx has a parameter behind it. A category gathers ~N/C rows,
            // so long groups are summed in pieces first (FanIn), each piece in that order, then the pieces in order.
            int dc = _itemDims.Dc;
            _categoryFanIn.Add(_k, _up, RowBlock.Copy(dc, d, 0, dc, 0), _dxAll.View, Of(_layout.Category!.Value, g), _pieceSums);
        }
        _l2.Backward(g, p);
    }

    /// <summary>Every index array of the batch, the LSTM schedules and the labels in one upload.</summary>
    private void Upload(Batch batch)
    {
        Pack(batch);
        if (TrainsX) _dxAll.Ensure((long)(_branchRows + batch.TargetCount) * _d);
        _up.Upload();
    }

    /// <summary>
    /// The host half of <see cref="Upload"/>: fills the index upload with the batch's index arrays, the branches'
    /// LSTM layouts and schedules, the fan-in CSRs and the labels (as float bits; none when scoring).
    /// Every buffer only grows, so once shapes are seen this allocates nothing (tests check).
    /// </summary>
    internal void Pack(Batch batch)
    {
        int b = batch.TargetCount;
        _up.Clear();
        _targetUser = _up.Add(b);
        batch.TargetUser.AsSpan().CopyTo(_up.Host(_targetUser));
        _targetItem = _up.Add(b);
        batch.TargetItem.AsSpan().CopyTo(_up.Host(_targetItem));
        _labels = _up.Add(batch.Label.Length == b ? b : 0);
        batch.Label.AsSpan(0, _labels.Length).CopyTo(_up.HostFloats(_labels));
        int rows = 0;
        foreach (Branch s in _branches) rows += s.Pack(batch, _up, firstDxRow: rows);
        _branchRows = rows;
        if (_user != null) _userFanIn.Build(_up, batch.TargetUser, _userCount);
        if (TrainsX)
        {
            // The category of every row of dx in [click rows; notclick rows; targets] order.
            int n = rows + b, at = 0;
            if (_keys.Length < n) _keys = new int[n];
            foreach (Branch s in _branches)
                foreach (int item in s.Items) _keys[at++] = _itemCategory![item];
            foreach (int item in batch.TargetItem) _keys[at++] = _itemCategory![item];
            _categoryFanIn.Build(_up, _keys.AsSpan(0, n), _categoryCount);
        }
    }

    /// <summary>x (R, D) of the items <paramref name="ids"/> (R).</summary>
    private void GatherX(ArrayView<float> x, ArrayView<int> ids, ArrayView<float> p)
    {
        if (ids.Length == 0) return;
        // Kuaishou has no category part: pass stand-in views that the kernel never reads.
        bool cat = _itemDims.Dc > 0;
        _k.GatherItems((int)ids.Length * _d, _itemDims, ids, cat ? _itemCategoryDev.View : ids, cat ? Of(_layout.Category!.Value, p) : _visual.View, _visual.View, x);
    }

    /// <summary>(B, D) dx_new: the rows after the branches' rows in the dx buffer.</summary>
    private ArrayView<float> DxNew() => DxRows(_branchRows, _b);

    /// <summary>Rows [first, first + rows) of the dx buffer (N_click + N_notclick + B, D).</summary>
    private ArrayView<float> DxRows(int first, int rows) => _dxAll.View.SubView((long)first * _d, (long)rows * _d);

    private ArrayView<float> HeadLogits(int k) => _headLogits.Ensure((long)Heads * _b).SubView((long)k * _b, _b);
    private ArrayView<float> DHeadLogits(int k) => _dheadLogits.View.SubView((long)k * _b, _b);

    private static ArrayView<float> Of(TensorSlot s, ArrayView<float> flat) => flat.SubView(s.Offset, s.Size);

    public void Dispose()
    {
        foreach (Branch s in _branches) s.Dispose();
        _user?.Dispose();
        _up.Dispose();
        _l2.Dispose();
        foreach (var a in new[] { _visual, _pieceSums, _xNew, _headLogits, _dheadLogits, _logits, _dlogits, _dxAll }) a.Dispose();
        _itemCategoryDev.Dispose();
    }
}
