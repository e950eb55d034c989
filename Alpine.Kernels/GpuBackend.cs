using Alpine.Cpu;
using Alpine.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>
/// <see cref="IAlpineBackend"/> with the graph-LSTM layers (the O(B·T·H²) bulk of the work: input projection,
/// fused recurrence, BPTT, weight gradients) and the Adam step on an ILGPU accelerator, over the same
/// <see cref="ModelLayout"/> as <see cref="CpuBackend"/>.
/// <para>
/// Partial by design, and said so in docs/ARCHITECTURE.md: the heads (attention, MLPs, fusion, loss and their
/// backward, O(B·W·H) per branch) run through the CPU model's code, with each LSTM layer's inputs, hidden states
/// and gradients copied between host and device once per batch. Parameters and gradients live on the host (the
/// heads read and write them); Adam's moments live on the device.
/// </para>
/// </summary>
public sealed class GpuBackend : IAlpineBackend
{
    private readonly DeviceHandle? _owned;
    private readonly KernelSet _kernels;
    private readonly CpuModel<float> _model;
    private readonly List<GpuSequenceEncoder> _encoders = [];
    private readonly float[] _p, _g;
    private readonly DeviceArray<float> _dp, _dg, _dm, _dv, _partials;

    /// <param name="accelerator">The device to run on (not disposed here); null opens the first CUDA device and
    /// throws <see cref="Alpine.Data.UsageException"/> when there is none (see <see cref="TryCreate"/>).</param>
    public GpuBackend(ModelConfig config, ItemTable items, int userCount, float[] initialParameters, Accelerator? accelerator = null)
        : this(config, items, userCount, initialParameters, accelerator, owned: null) { }

    private GpuBackend(ModelConfig config, ItemTable items, int userCount, float[] initialParameters, Accelerator? accelerator, DeviceHandle? owned)
    {
        _owned = owned;
        accelerator ??= owned?.Accelerator;
        Config = config;
        Layout = ModelLayout.Create(config, userCount, items.CategoryCount);
        if (initialParameters.Length != Layout.Size)
            throw new ArgumentException($"expected {Layout.Size} parameters for this configuration, got {initialParameters.Length}", nameof(initialParameters));
        if (accelerator is null)
        {
            _owned = AcceleratorFactory.TryCreateCuda()
                ?? throw new Alpine.Data.UsageException($"--device gpu needs a CUDA device: {AcceleratorFactory.DescribeMissingCuda()}");
            accelerator = _owned.Accelerator;
        }
        Accelerator = accelerator;
        _kernels = new KernelSet(accelerator);
        _model = new CpuModel<float>(config, Layout, items, threads: 0, encoders: c =>
        {
            var e = new GpuSequenceEncoder(_kernels, c.ItemDim, c.HiddenSize, c.UsesGraph, c.CStar, c.TopL, Schedule);
            _encoders.Add(e);
            return e;
        });
        _p = (float[])initialParameters.Clone();
        _g = new float[Layout.Size];
        (_dp, _dg, _dm, _dv, _partials) = (new(accelerator), new(accelerator), new(accelerator), new(accelerator), new(accelerator));
        _dp.Ensure(Layout.Size).CopyFromCPU(_p);
        _dg.Ensure(Layout.Size).MemSetToZero();
        _dm.Ensure(Layout.Size).MemSetToZero();
        _dv.Ensure(Layout.Size).MemSetToZero();
    }

    /// <summary>The GPU backend on the first CUDA device, or null when there is none (for <c>--device auto</c>).</summary>
    public static GpuBackend? TryCreate(ModelConfig config, ItemTable items, int userCount, float[] initialParameters)
    {
        var device = AcceleratorFactory.TryCreateCuda();
        if (device is null) return null;
        try { return new GpuBackend(config, items, userCount, initialParameters, null, device); }
        catch { device.Dispose(); throw; }
    }

    public ModelConfig Config { get; }
    public ParameterLayout Layout { get; }
    public Accelerator Accelerator { get; }

    /// <summary>How the recurrence is launched: one launch per step (default) or one persistent launch.</summary>
    public CellSchedule Schedule
    {
        get => _schedule;
        set { _schedule = value; foreach (var e in _encoders) e.Schedule = value; }
    }
    private CellSchedule _schedule = CellSchedule.StepLaunch;

    public void Predict(Batch batch, Span<float> logits) => _model.Forward(batch, _p, logits);

    public float ForwardBackward(Batch batch, Span<float> logits) => (float)_model.ForwardBackward(batch, _p, _g, logits);

    public void ZeroGradients() => Array.Clear(_g);

    public float Step(in AdamSettings settings, int step)
    {
        var p = _dp.Ensure(Layout.Size);
        var g = _dg.Ensure(Layout.Size);
        g.CopyFromCPU(_g);
        float norm = GpuAdam.Step(_kernels, p, g, _dm.Ensure(Layout.Size), _dv.Ensure(Layout.Size), _partials, settings, step);
        p.CopyToCPU(_p);
        return norm;
    }

    public void CopyParametersTo(Span<float> destination) => _p.CopyTo(destination);

    public void LoadParameters(ReadOnlySpan<float> source)
    {
        Checked(source, nameof(source)).CopyTo(_p);
        _dp.Ensure(Layout.Size).CopyFromCPU(_p);
    }

    public void CopyGradientsTo(Span<float> destination) => _g.CopyTo(destination);

    public void CopyOptimizerStateTo(Span<float> m, Span<float> v)
    {
        _dm.Ensure(Layout.Size).CopyToCPU(Checked(m, nameof(m)));
        _dv.Ensure(Layout.Size).CopyToCPU(Checked(v, nameof(v)));
    }

    public void LoadOptimizerState(ReadOnlySpan<float> m, ReadOnlySpan<float> v)
    {
        _dm.Ensure(Layout.Size).CopyFromCPU(Checked(m, nameof(m)));
        _dv.Ensure(Layout.Size).CopyFromCPU(Checked(v, nameof(v)));
    }

    public void Dispose()
    {
        foreach (var e in _encoders) e.Dispose();
        foreach (var a in new[] { _dp, _dg, _dm, _dv, _partials }) a.Dispose();
        _owned?.Dispose();
    }

    private Span<float> Checked(Span<float> s, string name) =>
        s.Length == Layout.Size ? s : throw new ArgumentException($"expected {Layout.Size} values, got {s.Length}", name);

    private ReadOnlySpan<float> Checked(ReadOnlySpan<float> s, string name) =>
        s.Length == Layout.Size ? s : throw new ArgumentException($"expected {Layout.Size} values, got {s.Length}", name);
}
