using Alpine.Cpu;
using Alpine.Kernels.Attention;
using Alpine.Kernels.Device;
using Alpine.Kernels.Mlp;
using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Bench;

/// <summary>
/// One branch's heads at train-batch scale (SPEC D12), on the CPU reference and on the device: attention of every
/// target over its window, then the MLP head on [f ; x_new] (D = H, M = 128, SPEC D8).
/// <list type="bullet">
/// <item><c>Window</c>: 2048 targets, each over its own 300-position sequence (one target per sequence).</item>
/// <item><c>SharedPrefix</c>: 20 sequences of 1000 positions, 100 targets each at τ = 10, 20, …, 1000, each over
/// the ≤ 300 positions before τ (windows overlap: the device backward's fan-in visits, per row, only the ≤ 30 targets whose window starts within 300 rows before it).</item>
/// </list>
/// The CPU side runs the targets in one thread (the model spreads them over its workers); GPU timings keep every
/// buffer device-resident, so they measure the kernels, not PCIe.
/// </summary>
public sealed class HeadsBenchCase : IDisposable
{
    public const int Window = 300, MlpHidden = 128;

    public HeadsBenchCase(string mode, int h, DeviceHandle? gpu)
    {
        H = h;
        int seqs, seqLength, perSeq;
        if (mode == "Window") (seqs, seqLength, perSeq) = (2048, Window, 1);
        else if (mode == "SharedPrefix") (seqs, seqLength, perSeq) = (20, 1000, 100);
        else throw new ArgumentException($"mode must be Window or SharedPrefix, not {mode}");
        B = seqs * perSeq;
        N = seqs * seqLength;
        Inputs = 2 * h;
        _rowStart = new int[B]; _alphaOffset = new int[B + 1]; _rowSequence = new int[N];
        _order = Enumerable.Range(0, B).ToArray(); // sequence by sequence, and by window start within one already
        _seqTargets = Enumerable.Range(0, seqs + 1).Select(s => s * perSeq).ToArray();
        for (int s = 0, t = 0; s < seqs; s++)
        {
            for (int r = 0; r < seqLength; r++) _rowSequence[s * seqLength + r] = s;
            for (int i = 0; i < perSeq; i++, t++)
            {
                int tau = perSeq == 1 ? seqLength : (i + 1) * seqLength / perSeq, start = Math.Max(0, tau - Window);
                _rowStart[t] = s * seqLength + start;
                _alphaOffset[t + 1] = _alphaOffset[t] + tau - start;
            }
        }
        var rng = new Random(1);
        float[] R(long count, float scale) { var a = new float[count]; for (long i = 0; i < count; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale; return a; }
        (_hs, _q, _u, _du) = (R((long)N * h, 1f), R((long)B * h, 0.3f), R((long)B * Inputs, 1f), R((long)B * Inputs, 0.1f));
        (_w1, _b1, _w2, _b2, _dy) = (R(MlpHidden * Inputs, 0.1f), R(MlpHidden, 0.1f), R(MlpHidden, 0.1f), R(1, 0.1f), R(B, 0.1f));
        _alpha = new float[_alphaOffset[B]];
        (_dhs, _dq, _y, _z, _dz, _duMlp) = (new float[(long)N * h], new float[(long)B * h], new float[B], new float[B * MlpHidden], new float[B * MlpHidden], new float[B * Inputs]);
        (_dw1, _db1, _dw2, _db2) = (new float[_w1.Length], new float[MlpHidden], new float[MlpHidden], new float[1]);
        if (gpu is null) return;
        var a = gpu.Accelerator;
        _kernels = new KernelSet(a);
        _attention = new GpuAttention(_kernels);
        _mlp = new GpuMlp(_kernels);
        _f = [.. new[] { _hs, _q, _u, _du, _alpha, _dhs, _dq, _w1, _b1, _w2, _b2, _dy, _y, _z, _dz, _duMlp, _dw1, _db1, _dw2, _db2 }.Select(x => a.Allocate1D(x))];
        _i = [.. new[] { _rowStart, _alphaOffset, _rowSequence, _order, _seqTargets }.Select(x => a.Allocate1D(x))];
    }

    public int B { get; }
    public int N { get; }
    public int H { get; }
    public int Inputs { get; }
    private readonly int[] _rowStart, _alphaOffset, _rowSequence, _order, _seqTargets;
    private readonly float[] _hs, _q, _u, _du, _alpha, _dhs, _dq, _w1, _b1, _w2, _b2, _dy, _y, _z, _dz, _duMlp, _dw1, _db1, _dw2, _db2;
    private readonly KernelSet? _kernels;
    private readonly GpuAttention? _attention;
    private readonly GpuMlp? _mlp;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>[] _f = [];
    private readonly MemoryBuffer1D<int, Stride1D.Dense>[] _i = [];

    private int Len(int t) => _alphaOffset[t + 1] - _alphaOffset[t];

    public void CpuAttention(bool backward)
    {
        int h = H;
        for (int t = 0; t < B; t++)
            Attention.Forward<float>(_u.AsSpan(t * Inputs, h), _alpha.AsSpan(_alphaOffset[t], Len(t)), _hs.AsSpan(_rowStart[t] * h, Len(t) * h), _q.AsSpan(t * h, h));
        if (!backward) return;
        for (int t = 0; t < B; t++)
            Attention.Backward<float>(_dhs.AsSpan(_rowStart[t] * h, Len(t) * h), _dq.AsSpan(t * h, h), _du.AsSpan(t * Inputs, h),
                _alpha.AsSpan(_alphaOffset[t], Len(t)), _hs.AsSpan(_rowStart[t] * h, Len(t) * h), _q.AsSpan(t * h, h), _u.AsSpan(t * Inputs, h));
    }

    public void CpuMlp()
    {
        Mlp.Forward<float>(_y, _z, _u, _w1, _b1, _w2, _b2);
        Mlp.Backward<float>(_duMlp, _dw1, _db1, _dw2, _db2, _dz, _dy, _z, _u, _w1, _w2);
    }

    public void GpuAttentionRun(bool backward)
    {
        var (hs, q, u, du, alpha, dhs, dq) = (_f[0].View, _f[1].View, _f[2].View, _f[3].View, _f[4].View, _f[5].View, _f[6].View);
        _attention!.Forward(B, H, u, Inputs, alpha, _i[1].View, _i[0].View, hs, q);
        if (backward)
            _attention.Backward(B, H, dhs, dq, du, u, Inputs, alpha, _i[1].View, _i[0].View, _i[2].View, _i[3].View, _i[4].View, Window, hs, q);
        _kernels!.Accelerator.Synchronize();
    }

    public void GpuMlpRun()
    {
        var v = _f.Select(b => b.View).ToArray();
        _mlp!.Forward(v[12], v[13], v[2], B, Inputs, MlpHidden, v[7], v[8], v[9], v[10]);
        _mlp.Backward(v[15], v[16], v[17], v[18], v[19], v[14], v[11], v[13], v[2], B, Inputs, MlpHidden, v[7], v[9]);
        _kernels!.Accelerator.Synchronize();
    }

    /// <summary>Window positions over all targets: every attention pass is H multiply-adds per position.</summary>
    public long Positions => _alphaOffset[B];

    public void Dispose()
    {
        _attention?.Dispose();
        _mlp?.Dispose();
        foreach (var b in _f) b.Dispose();
        foreach (var b in _i) b.Dispose();
    }
}
