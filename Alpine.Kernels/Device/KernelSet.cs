using System.Reflection;
using Alpine.Kernels.Attention;
using Alpine.Kernels.Backend;
using Alpine.Kernels.Gemm;
using Alpine.Kernels.GraphLstm;
using Alpine.Kernels.Mlp;
using Alpine.Kernels.Optim;
using Alpine.Model;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Device;

/// <summary>
/// Every kernel of the GPU backend, loaded (JIT-compiled) on first use, once per accelerator, and counted at
/// each launch (<see cref="Counts"/>). A kernel is a public static void method of a static <c>…Kernels</c> class
/// of this assembly, registered once below as a property; <see cref="All"/> finds the same methods by that
/// convention, so the PTX check covers every kernel without a second list.
/// </summary>
public sealed partial class KernelSet(Accelerator accelerator)
{
    public Accelerator Accelerator { get; } = accelerator;
    // Split-K slices and column-sum partials; kernels run in order on one stream, so one scratch suffices.
    private readonly DeviceArray<float> _scratch = new(accelerator);

    // Gemm/.
    private Action<KernelConfig, GemmDims, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _gemm;
    public Action<KernelConfig, GemmDims, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Gemm =>
        _gemm ??= Counted(Accelerator.LoadStreamKernel<GemmDims, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GemmKernels.Gemm));
    private Action<Index1D, GemmDims, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _reduceSplits;
    public Action<Index1D, GemmDims, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> ReduceSplits =>
        _reduceSplits ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, GemmDims, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GemmKernels.ReduceSplits));
    private Action<Index2D, int, int, int, ArrayView<float>, ArrayView<float>>? _columnSumsPartial;
    public Action<Index2D, int, int, int, ArrayView<float>, ArrayView<float>> ColumnSumsPartial =>
        _columnSumsPartial ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, int, ArrayView<float>, ArrayView<float>>(ColumnSumKernels.ColumnSumsPartial));
    private Action<Index1D, int, int, ArrayView<float>, ArrayView<float>>? _addColumnSums;
    public Action<Index1D, int, int, ArrayView<float>, ArrayView<float>> AddColumnSums =>
        _addColumnSums ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>>(ColumnSumKernels.AddColumnSums));

    // GraphLstm/.
    private Action<KernelConfig, int, CellDims, CellViews>? _forwardStep, _backwardStep;
    private Action<KernelConfig, CellDims, CellViews>? _forwardPersistent, _backwardPersistent;
    public Action<KernelConfig, int, CellDims, CellViews> ForwardStep =>
        _forwardStep ??= Counted(Accelerator.LoadStreamKernel<int, CellDims, CellViews>(CellKernels.ForwardStep));
    public Action<KernelConfig, CellDims, CellViews> ForwardPersistent =>
        _forwardPersistent ??= Counted(Accelerator.LoadStreamKernel<CellDims, CellViews>(CellKernels.ForwardPersistent));
    public Action<KernelConfig, int, CellDims, CellViews> BackwardStep =>
        _backwardStep ??= Counted(Accelerator.LoadStreamKernel<int, CellDims, CellViews>(CellKernels.BackwardStep));
    public Action<KernelConfig, CellDims, CellViews> BackwardPersistent =>
        _backwardPersistent ??= Counted(Accelerator.LoadStreamKernel<CellDims, CellViews>(CellKernels.BackwardPersistent));
    private Action<Index1D, CellDims, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _fuseRecurrentWeights;
    public Action<Index1D, CellDims, ArrayView<float>, ArrayView<float>, ArrayView<float>> FuseRecurrentWeights =>
        _fuseRecurrentWeights ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, CellDims, ArrayView<float>, ArrayView<float>, ArrayView<float>>(RecurrentWeightKernels.FuseRecurrentWeights));

    // Attention/ and Mlp/.
    private Action<KernelConfig, AttentionViews>? _attentionForward;
    public Action<KernelConfig, AttentionViews> AttentionForward =>
        _attentionForward ??= Counted(Accelerator.LoadStreamKernel<AttentionViews>(AttentionKernels.Forward));
    private Action<KernelConfig, AttentionViews, AttentionGradViews>? _attentionBackwardTargets;
    public Action<KernelConfig, AttentionViews, AttentionGradViews> AttentionBackwardTargets =>
        _attentionBackwardTargets ??= Counted(Accelerator.LoadStreamKernel<AttentionViews, AttentionGradViews>(AttentionKernels.BackwardTargets));
    private Action<Index1D, AttentionViews, AttentionGradViews>? _attentionBackwardRows;
    public Action<Index1D, AttentionViews, AttentionGradViews> AttentionBackwardRows =>
        _attentionBackwardRows ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionGradViews>(AttentionKernels.BackwardRows));
    private Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _reluGrad;
    public Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> ReluGrad =>
        _reluGrad ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MlpKernels.ReluGrad));

    // Optim/.
    private Action<KernelConfig, int, ArrayView<float>, ArrayView<float>>? _sumSquaresPartial;
    public Action<KernelConfig, int, ArrayView<float>, ArrayView<float>> SumSquaresPartial =>
        _sumSquaresPartial ??= Counted(Accelerator.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>>(AdamKernels.SumSquaresPartial));
    private Action<Index1D, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _adam;
    public Action<Index1D, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Adam =>
        _adam ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(AdamKernels.Step));

    // Backend/: the whole model's gathers, row moves, fan-ins, fusion, loss and L2.
    private Action<Index1D, ItemDims, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _gatherItems;
    public Action<Index1D, ItemDims, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>> GatherItems =>
        _gatherItems ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, ItemDims, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ItemKernels.Gather));
    private Action<Index1D, RowBlock, ArrayView<float>, ArrayView<float>>? _copyBlock;
    public Action<Index1D, RowBlock, ArrayView<float>, ArrayView<float>> CopyBlock =>
        _copyBlock ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, RowBlock, ArrayView<float>, ArrayView<float>>(RowKernels.CopyBlock));
    private Action<Index1D, RowBlock, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _gatherRows;
    public Action<Index1D, RowBlock, ArrayView<int>, ArrayView<float>, ArrayView<float>> GatherRows =>
        _gatherRows ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, RowBlock, ArrayView<int>, ArrayView<float>, ArrayView<float>>(RowKernels.GatherRows));
    private Action<Index1D, RowBlock, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _addGroupedRows;
    public Action<Index1D, RowBlock, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>> AddGroupedRows =>
        _addGroupedRows ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, RowBlock, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(RowKernels.AddGroupedRows));
    private Action<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>>? _fusionForward, _fusionBackward;
    public Action<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>> FusionForward =>
        _fusionForward ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>>(LossKernels.FusionForward));
    public Action<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>> FusionBackward =>
        _fusionBackward ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, FusionArgs, ArrayView<float>, ArrayView<float>>(LossKernels.FusionBackward));
    private Action<Index1D, float, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _bceBackward;
    public Action<Index1D, float, ArrayView<float>, ArrayView<float>, ArrayView<float>> BceBackward =>
        _bceBackward ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, float, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LossKernels.BceBackward));
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _l2SumPartial;
    public Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>> L2SumPartial =>
        _l2SumPartial ??= Counted(Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(LossKernels.L2SumPartial));
    private Action<Index1D, float, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _l2Backward;
    public Action<Index1D, float, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>> L2Backward =>
        _l2Backward ??= Counted(Accelerator.LoadAutoGroupedStreamKernel<Index1D, float, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(LossKernels.L2Backward));

    /// <summary>
    /// C = A·B (+bias) (+C when d.Accumulate); an empty bias view when d.HasBias is 0. Products with few output
    /// tiles and a long K (the weight gradients: K = all steps) are split along K so the device fills up;
    /// <paramref name="splits"/> &gt; 0 forces a split count (tests).
    /// </summary>
    public void RunGemm(GemmDims d, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, int splits = 0)
    {
        if (d.M == 0 || d.N == 0) return;
        if (!bias.IsValid) bias = c;
        long tiles = (long)((d.M + GemmKernels.Tile - 1) / GemmKernels.Tile) * ((d.N + GemmKernels.Tile - 1) / GemmKernels.Tile);
        if (splits <= 0)
        {
            long wanted = 8L * Accelerator.NumMultiprocessors;
            splits = (int)Math.Clamp(wanted / Math.Max(1, tiles), 1, Math.Max(1, d.K / 512));
        }
        splits = Math.Clamp(splits, 1, Math.Max(1, d.K));
        if (splits == 1) { d.KChunk = 0; Gemm(GemmKernels.Config(d, 1), d, a, b, bias, c); return; }
        int chunk = (d.K + splits - 1) / splits;
        chunk = (chunk + GemmKernels.TileK - 1) / GemmKernels.TileK * GemmKernels.TileK;
        splits = (d.K + chunk - 1) / chunk;
        d.KChunk = chunk;
        var partial = _scratch.Ensure((long)splits * d.M * d.N);
        Gemm(GemmKernels.Config(d, splits), d, a, b, bias, partial);
        ReduceSplits(d.M * d.N, d, splits, partial, bias, c);
    }

    /// <summary>db (cols) += Σ_rows a (rows, cols): per-chunk partial sums, then the chunks in order (deterministic).</summary>
    public void AddColumnSumsOf(ArrayView<float> a, int rows, int cols, ArrayView<float> db)
    {
        const int chunkRows = 256;
        int chunks = Math.Max(1, (rows + chunkRows - 1) / chunkRows);
        var partial = _scratch.Ensure((long)chunks * cols);
        ColumnSumsPartial(new Index2D(cols, chunks), rows, cols, chunkRows, a, partial);
        AddColumnSums(cols, chunks, cols, partial, db);
    }

    /// <summary>
    /// Every kernel method, named <c>Class.Method</c>, with whether it is explicitly grouped (it takes no index:
    /// its launch names groups and threads): the PTX check compiles each. Found by the registration convention
    /// above, not listed again.
    /// </summary>
    public static IEnumerable<(string Name, MethodInfo Method, bool ExplicitlyGrouped)> All() =>
        typeof(KernelSet).Assembly.GetTypes()
            .Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Kernels", StringComparison.Ordinal))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType == typeof(void))
            .Select(m => ($"{m.DeclaringType!.Name}.{m.Name}", m, !IsIndex(m.GetParameters().FirstOrDefault()?.ParameterType)))
            .OrderBy(k => k.Item1, StringComparer.Ordinal);

    private static bool IsIndex(Type? t) => t == typeof(Index1D) || t == typeof(Index2D) || t == typeof(Index3D);
}
