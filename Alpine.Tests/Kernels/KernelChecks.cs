using Alpine.Kernels.Device;
using ILGPU.Runtime;

namespace Alpine.Tests.Kernels;

/// <summary>
/// The base of every kernel check whose body runs both on ILGPU's CPU accelerator and on CUDA: one device and
/// one <see cref="KernelSet"/> per fixture, opened on first use, closed after the fixture.
/// </summary>
public abstract class KernelChecks
{
    private DeviceHandle? _device;
    private KernelSet? _kernels;

    protected abstract DeviceHandle Open();
    /// <summary>Relative and absolute tolerances: CUDA's ex2/tanh are approximate, so looser there.</summary>
    protected abstract (double Rtol, double Atol) Tolerance { get; }

    protected KernelSet Kernels
    {
        get
        {
            _device ??= Open();
            return _kernels ??= new KernelSet(_device.Accelerator);
        }
    }

    protected Accelerator Acc => Kernels.Accelerator;

    [OneTimeTearDown]
    public void CloseDevice() { _device?.Dispose(); _device = null; _kernels = null; }
}
