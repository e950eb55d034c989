using Alpine.Cpu;
using Alpine.Model;
using Alpine.Prep;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// The CPU graph-LSTM layer (Alpine.Core/Cpu/GraphLstm) at the benchmark's shape: B = 256 sequences of
/// T = 300 steps, D = H = 64, L = 1, float. OperationsPerInvoke is the FLOP count (GEMM FLOPs only, the
/// element-wise cell is not counted), so one "operation" is 1000 FLOPs (int overflow otherwise): GFLOP/s = 1000 / Mean[ns]:
/// forward = input GEMM 2·N·D·G·H + recurrent 2·N·H·4H per path; backward = 2 × forward.
/// </summary>
[MedianColumn]
public class GraphLstmCellBenchmarks
{
    private const int B = 256, T = 300, D = 64, H = 64, N = B * T;
    private const long GraphForwardFlops = 2L * N * D * 8 * H + 2 * (2L * N * H * 4 * H);
    /// <summary>The FLOPs of one <see cref="GraphForwardBackward"/>.</summary>
    internal const long GraphForwardBackwardFlops = 3 * GraphForwardFlops;
    private const long LstmForwardFlops = 2L * N * D * 4 * H + 2L * N * H * 4 * H;

    private SequenceSet _seqs = null!;
    private float[] _wx8 = [], _wx4 = [], _wh = [], _wg = [], _b8 = [], _b4 = [], _x = [], _h = [], _dh = [];
    private float[] _dx = [], _dwx8 = [], _dwx4 = [], _dwh = [], _dwg = [], _db8 = [], _db4 = [];
    private GraphLstm<float> _graph = null!, _lstm = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] Rand(int n, float s) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * s).ToArray();
        var offsets = Enumerable.Range(0, B + 1).Select(s => s * T).ToArray();
        var pred = new int[N];
        for (int s = 0; s < B; s++)
            for (int t = 0; t < T; t++)
                pred[s * T + t] = t == 0 ? -1 : t == 1 ? 0 : rng.Next(t - 1);
        // A distinct item per row: x is random per row (the layer shares a projection between rows of one item).
        _seqs = new SequenceSet(offsets, Enumerable.Range(0, N).ToArray(), pred, 1);
        _wx8 = Rand(8 * H * D, 0.2f); _wx4 = Rand(4 * H * D, 0.2f);
        _wh = Rand(4 * H * H, 0.2f); _wg = Rand(4 * H * H, 0.2f);
        _b8 = Rand(8 * H, 0.1f); _b4 = Rand(4 * H, 0.1f);
        _x = Rand(N * D, 1f); _dh = Rand(N * H, 1f); _h = new float[N * H];
        _dx = new float[N * D]; _dwx8 = new float[8 * H * D]; _dwx4 = new float[4 * H * D];
        _dwh = new float[4 * H * H]; _dwg = new float[4 * H * H]; _db8 = new float[8 * H]; _db4 = new float[4 * H];
        _graph = new GraphLstm<float>(D, H, true, CStarReading.Neighbor, 1);
        _lstm = new GraphLstm<float>(D, H, false, CStarReading.Neighbor, 1);
    }

    [Benchmark(OperationsPerInvoke = (int)(GraphForwardFlops / 1000))]
    public void GraphForward() => _graph.Forward(_wx8, _wh, _wg, _b8, _seqs, _x, _h);

    [Benchmark(OperationsPerInvoke = (int)(3 * GraphForwardFlops / 1000))]
    public void GraphForwardBackward()
    {
        _graph.Forward(_wx8, _wh, _wg, _b8, _seqs, _x, _h);
        _graph.Backward(_wx8, _wh, _wg, _b8, _seqs, _x, _dh, _dx, _dwx8, _dwh, _dwg, _db8);
    }

    [Benchmark(OperationsPerInvoke = (int)(LstmForwardFlops / 1000))]
    public void LstmForward() => _lstm.Forward(_wx4, _wh, [], _b4, _seqs, _x, _h);

    [Benchmark(OperationsPerInvoke = (int)(3 * LstmForwardFlops / 1000))]
    public void LstmForwardBackward()
    {
        _lstm.Forward(_wx4, _wh, [], _b4, _seqs, _x, _h);
        _lstm.Backward(_wx4, _wh, [], _b4, _seqs, _x, _dh, _dx, _dwx4, _dwh, [], _db4);
    }
}
