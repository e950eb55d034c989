using System.Numerics;
using Alpine.Cpu;
using Alpine.Model;

namespace Alpine.Baselines;

/// <summary>
/// The item side every baseline shares (docs/BASELINES.md "Item representation"): e_i = W_v x_i + b_v, a learned
/// linear map of the prepared visual vector x_i (SPEC D3), so items never seen in train still have an embedding.
/// </summary>
public sealed class ItemProjection(ParameterLayout layout, string name, int visualDim, int dim)
{
    private readonly TensorSlot _w = layout.Add($"{name}.W", dim, visualDim, TensorKind.Weight);
    private readonly TensorSlot _b = layout.Add($"{name}.b", 1, dim, TensorKind.Bias);

    public int Dim { get; } = dim;

    /// <summary>e (n, Dim) from the features x (n, D).</summary>
    public void Forward<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> x, Span<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Linear.Forward(e, x, _w.Of(p), _b.Of(p), Dim, parallel: false);

    /// <summary>W_v and b_v gradients from de (n, Dim); the features are data, so no dx.</summary>
    public void Backward<T>(ReadOnlySpan<T> p, Span<T> g, ReadOnlySpan<T> de, ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Linear.Backward<T>([], _w.Of(g), _b.Of(g), de, x, _w.Of(p), Dim, parallel: false);
}
