using Alpine.Kernels.Device;
using Alpine.Kernels.GraphLstm;
using Alpine.Kernels.Optim;
using Alpine.Model;
using Alpine.Prep;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Backend;

/// <summary>
/// <see cref="IAlpineBackend"/> with the whole model on an ILGPU accelerator (<see cref="GpuModel"/>: gathers, both
/// graph-LSTM branches, queries, attention, MLP heads, the user matrix, fusion, loss, L2, every backward) and the
/// Adam step, over the same <see cref="ModelLayout"/> as <c>Alpine.Cpu.CpuBackend</c>. Parameters, gradients and Adam's
/// moments live on the device; per batch only the index arrays and labels go up and the logits (and the loss's
/// partial sums) come down. The flat buffers cross to the host only when asked (Copy…To, Load…).
/// </summary>
public sealed class GpuBackend : IAlpineBackend
{
    private readonly DeviceHandle? _owned;
    private readonly KernelSet _kernels;
    private readonly GpuModel _model;
    private readonly GpuAdam _adam;
    private readonly DeviceArray<float> _dp, _dg, _dm, _dv;

    /// <param name="accelerator">The device to run on (not disposed here); null opens the first CUDA device and
    /// throws <see cref="Alpine.Data.UsageException"/> when there is none (see <see cref="TryCreate"/>).</param>
    public GpuBackend(ModelConfig config, ItemTable items, int userCount, float[] initialParameters, Accelerator? accelerator = null)
        : this(config, items, userCount, initialParameters, accelerator, owned: null) { }

    private GpuBackend(ModelConfig config, ItemTable items, int userCount, float[] initialParameters, Accelerator? accelerator, DeviceHandle? owned)
    {
        _owned = owned;
        accelerator ??= owned?.Accelerator;
        Config = config;
        var model = ModelLayout.ForBackend(config, items, userCount, initialParameters);
        Layout = model.Parameters;
        if (accelerator is null)
        {
            _owned = AcceleratorFactory.TryCreateCuda()
                ?? throw new Alpine.Data.UsageException($"--device gpu needs a CUDA device: {AcceleratorFactory.DescribeMissingCuda()}");
            accelerator = _owned.Accelerator;
        }
        Accelerator = accelerator;
        _kernels = new KernelSet(accelerator);
        _model = new GpuModel(_kernels, config, model, items, userCount);
        _adam = new GpuAdam(_kernels);
        (_dp, _dg, _dm, _dv) = (new(accelerator), new(accelerator), new(accelerator), new(accelerator));
        _dp.Ensure(Layout.Size).CopyFromCPU(initialParameters);
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

    /// <summary>Kernel launches and host↔device copies issued so far (a test pins a train step's).</summary>
    public KernelCounts Counts => _kernels.Counts;

    public ModelConfig Config { get; }
    public ParameterLayout Layout { get; }
    public Accelerator Accelerator { get; }

    /// <summary>How the recurrence is launched: one launch per step (default) or one persistent launch.</summary>
    public CellSchedule Schedule
    {
        get => _model.Schedule;
        set => _model.Schedule = value;
    }

    private ArrayView<float> P => _dp.View.SubView(0, Layout.Size);
    private ArrayView<float> G => _dg.View.SubView(0, Layout.Size);

    public void Predict(Batch batch, Span<float> logits) => _model.Forward(batch, P, logits);

    public float ForwardBackward(Batch batch, Span<float> logits)
    {
        if (batch.Label.Length != batch.TargetCount)
            throw new ArgumentException($"training needs one label per target: {batch.TargetCount} targets, {batch.Label.Length} labels", nameof(batch));
        return (float)_model.ForwardBackward(batch, P, G, logits);
    }

    public void ZeroGradients() => G.MemSetToZero();

    public float Step(in AdamSettings settings, int step) =>
        _adam.Step(P, G, _dm.View.SubView(0, Layout.Size), _dv.View.SubView(0, Layout.Size), settings, step);

    public void CopyParametersTo(Span<float> destination) => P.CopyToCPU(Checked(destination, nameof(destination)));
    public void LoadParameters(ReadOnlySpan<float> source) => P.CopyFromCPU(Checked(source, nameof(source)));
    public void CopyGradientsTo(Span<float> destination) => G.CopyToCPU(Checked(destination, nameof(destination)));

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
        _model.Dispose();
        _adam.Dispose();
        foreach (var a in new[] { _dp, _dg, _dm, _dv }) a.Dispose();
        _owned?.Dispose();
    }

    private Span<float> Checked(Span<float> s, string name) =>
        s.Length == Layout.Size ? s : throw new ArgumentException($"expected {Layout.Size} values, got {s.Length}", name);

    private ReadOnlySpan<float> Checked(ReadOnlySpan<float> s, string name) =>
        s.Length == Layout.Size ? s : throw new ArgumentException($"expected {Layout.Size} values, got {s.Length}", name);
}
