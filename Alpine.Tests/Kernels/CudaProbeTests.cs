using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Alpine.Tests.Kernels;

/// <summary>The smallest end-to-end proof that ILGPU reaches the CUDA device: a kernel runs and its result is read back.</summary>
[TestFixture, Category("Cuda")]
public class CudaProbeTests
{
    private static void Saxpy(Index1D i, float a, ArrayView<float> x, ArrayView<float> y) => y[i] = a * x[i] + y[i];

    [Test]
    public void SaxpyRunsOnTheCudaDevice()
    {
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        var devices = context.GetCudaDevices();
        if (devices.Count == 0) Assert.Ignore("no CUDA device: ILGPU found none on this machine");
        using var acc = devices[0].CreateAccelerator(context);
        TestContext.Out.WriteLine($"{acc.Name}: {acc.NumMultiprocessors} SMs, arch {((CudaAccelerator)acc).Architecture}, max group {acc.MaxNumThreadsPerGroup}");
        const int n = 1003;
        var x = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        var y = Enumerable.Range(0, n).Select(i => 1f - i).ToArray();
        using var dx = acc.Allocate1D(x);
        using var dy = acc.Allocate1D(y);
        var kernel = acc.LoadAutoGroupedStreamKernel<Index1D, float, ArrayView<float>, ArrayView<float>>(Saxpy);
        kernel(n, 2f, dx.View, dy.View);
        acc.Synchronize();
        var back = dy.GetAsArray1D();
        for (int i = 0; i < n; i++) Assert.That(back[i], Is.EqualTo(2f * x[i] + y[i]), $"element {i}");
        Console.WriteLine($"probe ok on {acc.Name}");
    }
}
