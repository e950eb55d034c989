using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>The whole-model kernels (gathers, row moves, fan-ins, fusion, loss, L2) of <see cref="GpuModel"/>;
/// loaded on first use, once per accelerator.</summary>
public sealed partial class KernelSet
{
    private Action<Index1D, ItemDims, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _gatherItems;
    private Action<Index1D, RowBlock, ArrayView<float>, ArrayView<float>>? _copyBlock;
    private Action<Index1D, RowBlock, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _gatherRows;
    private Action<Index1D, RowBlock, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _addGroupedRows;
    private Action<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>>? _fusionForward, _fusionBackward;
    private Action<Index1D, float, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _bceBackward;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _l2SumPartial;
    private Action<Index1D, float, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _l2Backward;

    public Action<Index1D, ItemDims, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>> GatherItems =>
        _gatherItems ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ItemDims, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ItemKernels.Gather);
    public Action<Index1D, RowBlock, ArrayView<float>, ArrayView<float>> CopyBlock =>
        _copyBlock ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, RowBlock, ArrayView<float>, ArrayView<float>>(RowKernels.CopyBlock);
    public Action<Index1D, RowBlock, ArrayView<int>, ArrayView<float>, ArrayView<float>> GatherRows =>
        _gatherRows ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, RowBlock, ArrayView<int>, ArrayView<float>, ArrayView<float>>(RowKernels.GatherRows);
    public Action<Index1D, RowBlock, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>> AddGroupedRows =>
        _addGroupedRows ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, RowBlock, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(RowKernels.AddGroupedRows);
    public Action<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>> FusionForward =>
        _fusionForward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>>(LossKernels.FusionForward);
    public Action<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>> FusionBackward =>
        _fusionBackward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>>(LossKernels.FusionBackward);
    public Action<Index1D, float, ArrayView<float>, ArrayView<float>, ArrayView<float>> BceBackward =>
        _bceBackward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, float, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LossKernels.BceBackward);
    public Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>> L2SumPartial =>
        _l2SumPartial ??= Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(LossKernels.L2SumPartial);
    public Action<Index1D, float, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>> L2Backward =>
        _l2Backward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, float, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(LossKernels.L2Backward);

    /// <summary>The whole-model kernel methods, for <see cref="All"/>.</summary>
    private static IEnumerable<(string Name, System.Reflection.MethodInfo Method, bool ExplicitlyGrouped)> ModelKernels()
    {
        yield return ($"Item{nameof(ItemKernels.Gather)}", typeof(ItemKernels).GetMethod(nameof(ItemKernels.Gather))!, false);
        foreach (string name in new[] { nameof(RowKernels.CopyBlock), nameof(RowKernels.GatherRows), nameof(RowKernels.AddGroupedRows) })
            yield return (name, typeof(RowKernels).GetMethod(name)!, false);
        foreach (string name in new[] { nameof(LossKernels.FusionForward), nameof(LossKernels.FusionBackward), nameof(LossKernels.BceBackward), nameof(LossKernels.L2Backward) })
            yield return (name, typeof(LossKernels).GetMethod(name)!, false);
        yield return (nameof(LossKernels.L2SumPartial), typeof(LossKernels).GetMethod(nameof(LossKernels.L2SumPartial))!, true);
    }
}
