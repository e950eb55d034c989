using System.Numerics;
using System.Numerics.Tensors;

namespace Alpine.Cpu;

/// <summary>
/// y = W x + b over a block of rows: the products inside the MLP heads (SPEC D8) and the bilinear
/// attention query (SPEC D7). The forward and the input gradient run over rows of the batch; the weight
/// gradient runs over rows of W, each reducing over the batch in row order, so the way rows are split
/// over threads never changes a sum (SPEC D13).
/// </summary>
public static class Linear
{
    /// <summary>y[r,:] = W x[r,:] + bias (bias may be empty).</summary>
    public static void Forward<T>(Span<T> y /*(R,O)*/, ReadOnlySpan<T> x /*(R,I)*/, ReadOnlySpan<T> w /*(O,I)*/, ReadOnlySpan<T> bias /*(O) or empty*/, int outputs)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int inputs = w.Length / outputs, rows = y.Length / outputs;
        System.Diagnostics.Debug.Assert(x.Length == rows * inputs && (bias.IsEmpty || bias.Length == outputs));
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> xr = x.Slice(r * inputs, inputs);
            Span<T> yr = y.Slice(r * outputs, outputs);
            for (int k = 0; k < outputs; k++)
                yr[k] = TensorPrimitives.Dot(w.Slice(k * inputs, inputs), xr) + (bias.IsEmpty ? T.Zero : bias[k]);
        }
    }

    /// <summary>dx[r,:] += Σ_k dy[r,k] W[k,:] (accumulates: x is a fan-in point in every use).</summary>
    public static void BackwardInput<T>(Span<T> dx /*(R,I)*/, ReadOnlySpan<T> dy /*(R,O)*/, ReadOnlySpan<T> w /*(O,I)*/, int outputs)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int inputs = w.Length / outputs, rows = dy.Length / outputs;
        System.Diagnostics.Debug.Assert(dx.Length == rows * inputs);
        for (int r = 0; r < rows; r++)
        {
            Span<T> dxr = dx.Slice(r * inputs, inputs);
            for (int k = 0; k < outputs; k++)
            {
                T g = dy[r * outputs + k];
                if (g != T.Zero) TensorPrimitives.MultiplyAdd(w.Slice(k * inputs, inputs), g, dxr, dxr);
            }
        }
    }

    /// <summary>
    /// For the rows k of W in [k0, k1): dW[k,:] += Σ_r dy[r,k] x[r,:] and dbias[k] += Σ_r dy[r,k]
    /// (dbias may be empty), summed in row order r = 0, 1, ….
    /// </summary>
    public static void BackwardWeights<T>(Span<T> dw /*(O,I)*/, Span<T> dbias /*(O) or empty*/, ReadOnlySpan<T> dy /*(R,O)*/, ReadOnlySpan<T> x /*(R,I)*/, int outputs, int k0, int k1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int inputs = dw.Length / outputs, rows = dy.Length / outputs;
        System.Diagnostics.Debug.Assert(x.Length == rows * inputs);
        for (int k = k0; k < k1; k++)
        {
            Span<T> dwk = dw.Slice(k * inputs, inputs);
            T sum = T.Zero;
            for (int r = 0; r < rows; r++)
            {
                T g = dy[r * outputs + k];
                sum += g;
                if (g != T.Zero) TensorPrimitives.MultiplyAdd(x.Slice(r * inputs, inputs), g, dwk, dwk);
            }
            if (!dbias.IsEmpty) dbias[k] += sum;
        }
    }
}
