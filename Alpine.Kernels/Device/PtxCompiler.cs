using System.Reflection;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Device;

/// <summary>
/// Compiles a kernel to PTX text with no GPU and no driver: ILGPU's PTX backend only needs the target's
/// capabilities. CI (no GPU) uses it to prove that every kernel compiles for sm_90.
/// </summary>
public static class PtxCompiler
{
    /// <summary>
    /// The PTX of <paramref name="kernel"/> (a static kernel method) for <paramref name="architecture"/>.
    /// A fresh <see cref="Context"/> per call: a kernel that fails to compile leaves its context unusable.
    /// ILGPU 1.5.3 writes <c>.target sm_80</c> for SM_90 (it knows no newer codegen target); the driver JIT-compiles it onto Hopper.
    /// </summary>
    public static string Compile(MethodInfo kernel, bool explicitlyGrouped, CudaArchitecture architecture)
    {
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture,
            CudaInstructionSet.ISA_80, nvvmAPI: null);
        var entry = explicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }

    public static string CompileForHopper(MethodInfo kernel, bool explicitlyGrouped) =>
        Compile(kernel, explicitlyGrouped, CudaArchitecture.SM_90);
}
