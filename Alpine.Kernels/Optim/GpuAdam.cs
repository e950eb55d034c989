using Alpine.Kernels.Device;
using Alpine.Model;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.Optim;

/// <summary>
/// <see cref="Adam.Step"/> (SPEC D11) over device buffers: the global norm from per-group partial sums (summed on the
/// host in float64 in group order, so deterministic), the step's scalars from <see cref="AdamStep.For"/>, and one
/// thread per parameter running <see cref="AdamStep.Update"/>. Owns its partials, so a step allocates nothing.
/// </summary>
public sealed class GpuAdam(KernelSet kernels) : IDisposable
{
    private readonly DeviceArray<float> _partials = new(kernels.Accelerator);
    private float[] _host = []; // the norm's partials on the host (grows only)

    /// <summary>Global-norm clipping, then Adam on p with moments m, v (in place); returns ‖g‖ before clipping.</summary>
    public float Step(ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, in AdamSettings s, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), "Adam steps are 1-based");
        float norm = GlobalNorm(g);
        // No Synchronize: the host packs the next batch while Adam runs; any later copy waits for it.
        if (p.Length > 0) kernels.Adam((int)p.Length, AdamStep.For(s, norm, step), p, g, m, v);
        return norm;
    }

    /// <summary>‖x‖ from one partial sum of squares per <see cref="Adam.NormChunk"/> elements (within float
    /// tolerance of <see cref="Adam.GlobalNorm"/>, whose chunks sum in float64).</summary>
    public float GlobalNorm(ArrayView<float> x)
    {
        int groups = (int)Math.Max(1, (x.Length + Adam.NormChunk - 1) / Adam.NormChunk);
        var part = _partials.Ensure(groups);
        kernels.SumSquaresPartial(new KernelConfig(groups, AdamKernels.GroupSize), Adam.NormChunk, x, part);
        if (_host.Length < groups) _host = new float[groups];
        kernels.Download(part, _host.AsSpan(0, groups));
        double sum = 0;
        for (int i = 0; i < groups; i++) sum += _host[i];
        return (float)Math.Sqrt(sum);
    }

    public void Dispose() => _partials.Dispose();
}
