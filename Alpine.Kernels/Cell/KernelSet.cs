using Alpine.Model;
using ILGPU;
using ILGPU.Runtime;

namespace Alpine.Kernels;

/// <summary>Every kernel of the GPU backend, loaded (JIT-compiled) once per accelerator.</summary>
public sealed partial class KernelSet
{
    public KernelSet(Accelerator accelerator)
    {
        Accelerator = accelerator;
        Gemm = Counted(accelerator.LoadStreamKernel<GemmDims, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GemmKernel.Gemm));
        ReduceSplits = Counted(accelerator.LoadAutoGroupedStreamKernel<Index1D, GemmDims, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GemmKernel.ReduceSplits));
        ColumnSumsPartial = Counted(accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, int, ArrayView<float>, ArrayView<float>>(VectorKernels.ColumnSumsPartial));
        _scratch = new DeviceArray<float>(accelerator);
        ForwardStep = Counted(accelerator.LoadStreamKernel<int, CellDims, CellViews>(CellKernels.ForwardStep));
        ForwardPersistent = Counted(accelerator.LoadStreamKernel<CellDims, CellViews>(CellKernels.ForwardPersistent));
        BackwardStep = Counted(accelerator.LoadStreamKernel<int, CellDims, CellViews>(CellKernels.BackwardStep));
        BackwardPersistent = Counted(accelerator.LoadStreamKernel<CellDims, CellViews>(CellKernels.BackwardPersistent));
        FuseRecurrentWeights = Counted(accelerator.LoadAutoGroupedStreamKernel<Index1D, CellDims, ArrayView<float>, ArrayView<float>, ArrayView<float>>(VectorKernels.FuseRecurrentWeights));
        AddColumnSums = Counted(accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>>(VectorKernels.AddColumnSums));
        SumSquaresPartial = Counted(accelerator.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>>(AdamKernels.SumSquaresPartial));
        Adam = Counted(accelerator.LoadAutoGroupedStreamKernel<Index1D, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(AdamKernels.Step));
        // Heads (attention + MLP), Heads/.
        AttentionForward = Counted(accelerator.LoadStreamKernel<AttentionViews>(AttentionKernels.Forward));
        AttentionBackwardTargets = Counted(accelerator.LoadStreamKernel<AttentionViews, AttentionGradViews>(AttentionKernels.BackwardTargets));
        AttentionBackwardRows = Counted(accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionGradViews>(AttentionKernels.BackwardRows));
        ReluGrad = Counted(accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MlpKernels.ReluGrad));
    }

    public Accelerator Accelerator { get; }
    public Action<KernelConfig, GemmDims, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Gemm { get; }
    public Action<KernelConfig, int, CellDims, CellViews> ForwardStep { get; }
    public Action<KernelConfig, CellDims, CellViews> ForwardPersistent { get; }
    public Action<KernelConfig, int, CellDims, CellViews> BackwardStep { get; }
    public Action<KernelConfig, CellDims, CellViews> BackwardPersistent { get; }
    public Action<Index1D, CellDims, ArrayView<float>, ArrayView<float>, ArrayView<float>> FuseRecurrentWeights { get; }
    public Action<Index1D, int, int, ArrayView<float>, ArrayView<float>> AddColumnSums { get; }
    public Action<Index1D, GemmDims, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> ReduceSplits { get; }
    public Action<Index2D, int, int, int, ArrayView<float>, ArrayView<float>> ColumnSumsPartial { get; }
    // Split-K slices and column-sum partials; kernels run in order on one stream, so one scratch suffices.
    private readonly DeviceArray<float> _scratch;
    public Action<KernelConfig, int, ArrayView<float>, ArrayView<float>> SumSquaresPartial { get; }
    public Action<Index1D, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Adam { get; }
    public Action<KernelConfig, AttentionViews> AttentionForward { get; }
    public Action<KernelConfig, AttentionViews, AttentionGradViews> AttentionBackwardTargets { get; }
    public Action<Index1D, AttentionViews, AttentionGradViews> AttentionBackwardRows { get; }
    public Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> ReluGrad { get; }

    /// <summary>
    /// C = A·B (+bias) (+C when d.Accumulate); an empty bias view when d.HasBias is 0. Products with few output
    /// tiles and a long K (the weight gradients: K = all steps) are split along K so the device fills up;
    /// <paramref name="splits"/> &gt; 0 forces a split count (tests).
    /// </summary>
    public void RunGemm(GemmDims d, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, int splits = 0)
    {
        if (d.M == 0 || d.N == 0) return;
        if (!bias.IsValid) bias = c;
        long tiles = (long)((d.M + GemmKernel.Tile - 1) / GemmKernel.Tile) * ((d.N + GemmKernel.Tile - 1) / GemmKernel.Tile);
        if (splits <= 0)
        {
            long wanted = 8L * Accelerator.NumMultiprocessors;
            splits = (int)Math.Clamp(wanted / Math.Max(1, tiles), 1, Math.Max(1, d.K / 512));
        }
        splits = Math.Clamp(splits, 1, Math.Max(1, d.K));
        if (splits == 1) { d.KChunk = 0; Gemm(GemmKernel.Config(d, 1), d, a, b, bias, c); return; }
        int chunk = (d.K + splits - 1) / splits;
        chunk = (chunk + GemmKernel.TileK - 1) / GemmKernel.TileK * GemmKernel.TileK;
        splits = (d.K + chunk - 1) / chunk;
        d.KChunk = chunk;
        var partial = _scratch.Ensure((long)splits * d.M * d.N);
        Gemm(GemmKernel.Config(d, splits), d, a, b, bias, partial);
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

    /// <summary>All kernel methods with whether each is explicitly grouped: the PTX check compiles each.</summary>
    public static IEnumerable<(string Name, System.Reflection.MethodInfo Method, bool ExplicitlyGrouped)> All()
    {
        yield return (nameof(GemmKernel.Gemm), typeof(GemmKernel).GetMethod(nameof(GemmKernel.Gemm))!, true);
        yield return (nameof(CellKernels.ForwardStep), typeof(CellKernels).GetMethod(nameof(CellKernels.ForwardStep))!, true);
        yield return (nameof(CellKernels.ForwardPersistent), typeof(CellKernels).GetMethod(nameof(CellKernels.ForwardPersistent))!, true);
        yield return (nameof(CellKernels.BackwardStep), typeof(CellKernels).GetMethod(nameof(CellKernels.BackwardStep))!, true);
        yield return (nameof(CellKernels.BackwardPersistent), typeof(CellKernels).GetMethod(nameof(CellKernels.BackwardPersistent))!, true);
        yield return (nameof(VectorKernels.FuseRecurrentWeights), typeof(VectorKernels).GetMethod(nameof(VectorKernels.FuseRecurrentWeights))!, false);
        yield return (nameof(GemmKernel.ReduceSplits), typeof(GemmKernel).GetMethod(nameof(GemmKernel.ReduceSplits))!, false);
        yield return (nameof(VectorKernels.AddColumnSums), typeof(VectorKernels).GetMethod(nameof(VectorKernels.AddColumnSums))!, false);
        yield return (nameof(VectorKernels.ColumnSumsPartial), typeof(VectorKernels).GetMethod(nameof(VectorKernels.ColumnSumsPartial))!, false);
        yield return (nameof(AdamKernels.SumSquaresPartial), typeof(AdamKernels).GetMethod(nameof(AdamKernels.SumSquaresPartial))!, true);
        yield return ("Adam", typeof(AdamKernels).GetMethod(nameof(AdamKernels.Step))!, false);
        // Heads.
        yield return ("AttentionForward", typeof(AttentionKernels).GetMethod(nameof(AttentionKernels.Forward))!, true);
        yield return ("AttentionBackwardTargets", typeof(AttentionKernels).GetMethod(nameof(AttentionKernels.BackwardTargets))!, true);
        yield return ("AttentionBackwardRows", typeof(AttentionKernels).GetMethod(nameof(AttentionKernels.BackwardRows))!, false);
        yield return (nameof(MlpKernels.ReluGrad), typeof(MlpKernels).GetMethod(nameof(MlpKernels.ReluGrad))!, false);
        foreach (var k in ModelKernels()) yield return k;
    }
}
