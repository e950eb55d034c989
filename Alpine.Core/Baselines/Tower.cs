using System.Numerics;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Baselines;

/// <summary>
/// A stack of fully connected layers, ReLU after each but the last: h_l = ReLU(W_l h_{l−1} + b_l), the MLPs of
/// NCF, DIN and the sequence baselines. Its tensors are <c>{name}.W{l}</c> (Weight) and <c>{name}.b{l}</c> (Bias).
/// Works on R rows at once; every product runs on the calling thread (one target per thread).
/// </summary>
public sealed class Tower
{
    private readonly TensorSlot[] _w, _b;
    private readonly int[] _sizes;

    /// <param name="sizes">Input width, each hidden width, output width.</param>
    public Tower(ParameterLayout layout, string name, params int[] sizes)
    {
        System.Diagnostics.Debug.Assert(sizes.Length >= 2);
        _sizes = sizes;
        int layers = sizes.Length - 1;
        _w = new TensorSlot[layers];
        _b = new TensorSlot[layers];
        for (int l = 0; l < layers; l++)
        {
            _w[l] = layout.Add($"{name}.W{l}", sizes[l + 1], sizes[l], TensorKind.Weight);
            _b[l] = layout.Add($"{name}.b{l}", 1, sizes[l + 1], TensorKind.Bias);
        }
    }

    public int Inputs => _sizes[0];
    public int Outputs => _sizes[^1];
    private int Widest => _sizes.Max();

    /// <summary>Activation elements for <paramref name="rows"/> rows: every layer's output.</summary>
    public int ActivationSize(int rows) => rows * _sizes.Skip(1).Sum();
    /// <summary>Scratch elements of <see cref="Backward{T}"/> for <paramref name="rows"/> rows.</summary>
    public int ScratchSize(int rows) => 2 * rows * Widest;

    /// <summary>The last layer's output (R, Outputs) within <paramref name="act"/>.</summary>
    public Span<T> Output<T>(Span<T> act, int rows) => act.Slice(ActivationSize(rows) - rows * Outputs, rows * Outputs);
    public ReadOnlySpan<T> Output<T>(ReadOnlySpan<T> act, int rows) => act.Slice(ActivationSize(rows) - rows * Outputs, rows * Outputs);

    public void Forward<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x /*(R,I)*/, Span<T> act /*(ActivationSize(R))*/, int rows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> input = x;
        int at = 0;
        for (int l = 0; l < _w.Length; l++)
        {
            Span<T> y = act.Slice(at, rows * _sizes[l + 1]);
            Linear.Forward(y, input, _w[l].Of(p), _b[l].Of(p), _sizes[l + 1], parallel: false);
            if (l < _w.Length - 1) System.Numerics.Tensors.TensorPrimitives.Max(y, T.Zero, y);
            input = y;
            at += y.Length;
        }
    }

    /// <summary>
    /// From dy (R, Outputs): parameter gradients accumulate into <paramref name="g"/>, and dx (R, Inputs)
    /// accumulates (it may be empty when the input is constant).
    /// </summary>
    public void Backward<T>(ReadOnlySpan<T> p, Span<T> g, Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> act,
        Span<T> scratch, int rows) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int widest = rows * Widest;
        Span<T> bufA = scratch[..widest], bufB = scratch.Slice(widest, widest);
        ReadOnlySpan<T> dOut = dy;
        int end = ActivationSize(rows);
        for (int l = _w.Length - 1; l >= 0; l--)
        {
            int outW = _sizes[l + 1], inW = _sizes[l];
            end -= rows * outW;
            ReadOnlySpan<T> input = l == 0 ? x : act.Slice(end - rows * inW, rows * inW);
            if (l == 0)
            {
                Linear.Backward(dx, _w[l].Of(g), _b[l].Of(g), dOut, input, _w[l].Of(p), outW, parallel: false);
                break;
            }
            Span<T> dIn = (l % 2 == 0 ? bufA : bufB)[..(rows * inW)];
            dIn.Clear();
            Linear.Backward(dIn, _w[l].Of(g), _b[l].Of(g), dOut, input, _w[l].Of(p), outW, parallel: false);
            // input is the previous layer's ReLU output: its gradient passes where it is positive.
            for (int i = 0; i < dIn.Length; i++) if (input[i] <= T.Zero) dIn[i] = T.Zero;
            dOut = dIn;
        }
    }
}
