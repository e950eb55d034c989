using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Device;

/// <summary>
/// An ILGPU accelerator together with the context that owns it; disposing it releases both.
/// Every context enables ILGPU.Algorithms so kernels can call <c>XMath.Exp</c>/<c>XMath.Tanh</c>.
/// </summary>
public sealed class DeviceHandle : IDisposable
{
    internal DeviceHandle(Context context, Accelerator accelerator) { Context = context; Accelerator = accelerator; }
    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;
    public void Dispose() { Accelerator.Dispose(); Context.Dispose(); }
}

/// <summary>Where the GPU backend gets its accelerator.</summary>
public static class AcceleratorFactory
{
    /// <summary>The first CUDA device, or null when there is none (no driver, no GPU); never a CPU fallback:
    /// ILGPU's CPU accelerator is ~100× slower than plain C# and only fit for tests.</summary>
    public static DeviceHandle? TryCreateCuda()
    {
        Context? context = null;
        try
        {
            context = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
            var devices = context.GetCudaDevices();
            if (devices.Count == 0) { context.Dispose(); return null; }
            return new DeviceHandle(context, devices[0].CreateAccelerator(context));
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or CudaException or NotSupportedException or InvalidOperationException)
        {
            context?.Dispose();
            return null;
        }
    }

    /// <summary>Why <see cref="TryCreateCuda"/> found nothing, for test skip messages.</summary>
    public static string DescribeMissingCuda()
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count == 0 ? "ILGPU found no CUDA device" : "a CUDA device exists";
        }
        catch (Exception e) { return $"CUDA unavailable ({e.GetType().Name}: {e.Message})"; }
    }

    /// <summary>
    /// ILGPU's CPU accelerator shaped like a small GPU: warps of 32, 2 warps per group (64 threads), one
    /// multiprocessor. The default CPU device caps groups at 16 threads, too narrow for the kernels'
    /// 64-thread tiles. Tests only.
    /// </summary>
    public static DeviceHandle CreateCpuForTests()
    {
        var device = new CPUDevice(32, 2, 1);
        var context = Context.Create(b => b.CPU(device).EnableAlgorithms().Optimize(OptimizationLevel.O1));
        return new DeviceHandle(context, context.GetCPUDevice(0).CreateAccelerator(context));
    }
}
