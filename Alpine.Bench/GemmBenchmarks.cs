using System.Numerics.Tensors;
using Alpine.Cpu;
using BenchmarkDotNet.Attributes;
using MathNet.Numerics.LinearAlgebra.Single;

namespace Alpine.Bench;

/// <summary>
/// The float GEMM at the shapes the model runs (D = H = 64, 4H = 256 gate columns, N = B·T = 76,800 rows of the
/// graph-LSTM benchmark), every implementation on both cores in one run: <see cref="Gemm"/>'s unpacked kernel
/// (<c>Current</c>), its packed kernel (<c>Packed</c>), MathNet's managed GEMM and a row loop of
/// <see cref="TensorPrimitives"/> multiply-adds. FLOPs per call are 2·m·n·k (<see cref="Flops"/>, printed in setup):
/// GFLOP/s = that / the mean in ns.
/// Run: <c>dotnet Alpine.Bench.dll --filter '*GemmBenchmarks*' --inprocess</c>
/// </summary>
[MedianColumn]
public class GemmBenchmarks
{
    public enum Shape
    {
        /// <summary>One recurrent step of 256 sequences: C[256, 256] = h[256, 64] · Whᵀ[64, 256].</summary>
        Step,
        /// <summary>The input projection of all rows: C[76800, 256] = x[76800, 64] · Wxᵀ[64, 256].</summary>
        Projection,
        /// <summary>A weight gradient, Aᵀ·B over all rows: C[64, 256] = A[76800, 64]ᵀ · B[76800, 256].</summary>
        GradWide,
        /// <summary>A weight gradient, Aᵀ·B over all rows: C[64, 64] = A[76800, 64]ᵀ · B[76800, 64].</summary>
        GradSquare,
        /// <summary>The graph-LSTM's gate-half gradient: [dWh | dWx] [256, 128] = dgates[76800, 256]ᵀ · [h | x][76800, 128].</summary>
        GradGates,
    }

    [Params(Shape.Step, Shape.Projection, Shape.GradWide, Shape.GradSquare, Shape.GradGates)]
    public Shape Case { get; set; }

    private const int Rows = 76_800;
    private int _m, _n, _k;
    private bool _transA;
    private float[] _a = [], _b = [], _c = [];
    private DenseMatrix _mnA = null!, _mnB = null!, _mnC = null!;

    /// <summary>2·m·n·k of the current case.</summary>
    public long Flops => 2L * _m * _n * _k;

    [GlobalSetup]
    public void Setup()
    {
        (_m, _n, _k, _transA) = Case switch
        {
            Shape.Step => (256, 256, 64, false),
            Shape.Projection => (Rows, 256, 64, false),
            Shape.GradWide => (64, 256, Rows, true),
            Shape.GradSquare => (64, 64, Rows, true),
            Shape.GradGates => (256, 128, Rows, true),
            _ => throw new ArgumentOutOfRangeException(nameof(Case)),
        };
        var rng = new Random(3);
        float[] Rand(long count) => Enumerable.Range(0, (int)count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _a = Rand((long)_m * _k);
        _b = Rand((long)_k * _n);
        _c = new float[_m * _n];
        // MathNet is column-major: a row-major [r, c] array is its [c, r] matrix, the transpose. So Cᵀ (n, m) =
        // Bᵀ (n, k) · op(A)ᵀ, with op(A)ᵀ the array of A itself (A = [m, k]) or, for Aᵀ·B (A = [k, m]), its transpose.
        _mnB = DenseMatrix.OfColumnMajor(_n, _k, _b);
        _mnA = _transA ? DenseMatrix.OfColumnMajor(_m, _k, _a) : DenseMatrix.OfColumnMajor(_k, _m, _a);
        _mnC = new DenseMatrix(_n, _m);
        Console.WriteLine($"// {Case}: m={_m} n={_n} k={_k} transA={_transA}, {Flops:N0} FLOPs per call");
    }

    [Benchmark(Baseline = true)]
    public void Current() => Run(Gemm.Kernel.Unpacked);

    [Benchmark]
    public void Packed() => Run(Gemm.Kernel.Packed);

    private void Run(Gemm.Kernel kernel) =>
        Gemm.Multiply<float>(_c, _n, _a, _transA ? _m : _k, _transA, _b, _n, false, _m, _n, _k, accumulate: false, parallel: true, kernel);

    [Benchmark]
    public void MathNet()
    {
        if (_transA) _mnB.TransposeAndMultiply(_mnA, _mnC); else _mnB.Multiply(_mnA, _mnC);
    }

    /// <summary>C's rows as sums of scaled rows of B (one TensorPrimitives multiply-add per (row, k)), C's rows in two halves on the two cores.</summary>
    [Benchmark]
    public void TensorPrimitivesRows()
    {
        int m = _m, n = _n, k = _k;
        var a = _a; var b = _b; var c = _c;
        bool transA = _transA;
        Parallel.For(0, 2, half =>
        {
            int i0 = m * half / 2, i1 = m * (half + 1) / 2;
            c.AsSpan(i0 * n, (i1 - i0) * n).Clear();
            if (transA)
                // Aᵀ·B: k outermost, so each row of B is read once and the half of C stays in cache.
                for (int p = 0; p < k; p++)
                {
                    var bp = b.AsSpan(p * n, n);
                    for (int i = i0; i < i1; i++)
                    {
                        var ci = c.AsSpan(i * n, n);
                        TensorPrimitives.MultiplyAdd(bp, a[p * m + i], ci, ci);
                    }
                }
            else
                for (int i = i0; i < i1; i++)
                {
                    var ci = c.AsSpan(i * n, n);
                    for (int p = 0; p < k; p++) TensorPrimitives.MultiplyAdd(b.AsSpan(p * n, n), a[i * k + p], ci, ci);
                }
        });
    }
}
