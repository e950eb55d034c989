namespace Alpine.Model;

/// <summary>How a tensor is initialised, and whether L2 applies (SPEC D11, "Loss").</summary>
public enum TensorKind
{
    /// <summary>Glorot-uniform; L2 applies.</summary>
    Weight,
    /// <summary>Orthonormal columns over the whole stacked [4H, H] matrix; L2 applies.</summary>
    Recurrent,
    /// <summary>Zero, or one for forget gates; no L2.</summary>
    Bias,
    /// <summary>Embedding table; no L2.</summary>
    Embedding,
}

/// <summary>A named view of the flat buffer: <c>[Rows, Cols]</c> row-major at <c>Offset</c>.</summary>
public readonly record struct TensorSlot(string Name, int Offset, int Rows, int Cols, TensorKind Kind)
{
    public int Size => Rows * Cols;
    public Span<T> Of<T>(T[] flat) => flat.AsSpan(Offset, Size);
    public Span<T> Of<T>(Span<T> flat) => flat.Slice(Offset, Size);
    public ReadOnlySpan<T> Of<T>(ReadOnlySpan<T> flat) => flat.Slice(Offset, Size);
}

/// <summary>
/// The size table that carves one flat buffer into named tensors (STYLE.md, llm.c). Parameters,
/// gradients and both Adam moments all share it; so do the CPU and GPU backends.
/// </summary>
public sealed class ParameterLayout
{
    private readonly List<TensorSlot> _slots = [];
    private readonly Dictionary<string, int> _byName = [];

    public IReadOnlyList<TensorSlot> Slots => _slots;
    public int Size { get; private set; }

    public TensorSlot Add(string name, int rows, int cols, TensorKind kind)
    {
        System.Diagnostics.Debug.Assert(rows >= 0 && cols >= 0 && !_byName.ContainsKey(name));
        // Align each tensor to 16 floats so SIMD loads and GPU tiles of one tensor never straddle two.
        int offset = (Size + 15) & ~15;
        var slot = new TensorSlot(name, offset, rows, cols, kind);
        _byName[name] = _slots.Count;
        _slots.Add(slot);
        Size = checked(offset + rows * cols);
        return slot;
    }

    public TensorSlot this[string name] => _slots[_byName[name]];
    public bool Contains(string name) => _byName.ContainsKey(name);
}
