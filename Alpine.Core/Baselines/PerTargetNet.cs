using System.Numerics;
using Alpine.Prep;

namespace Alpine.Baselines;

/// <summary>
/// A <see cref="BaselineNet"/> whose targets share nothing: a forward that scores one target into its own activation
/// buffer and its backward. A group is its targets one after the other, each with its own slice of the group's
/// activations.
/// </summary>
public abstract class PerTargetNet(ItemTable items, int window) : BaselineNet(items, window)
{
    /// <summary>Elements of the activation buffer one target's forward fills (for a full window).</summary>
    public abstract int ActivationSize { get; }
    /// <summary>Elements of scratch one target's backward uses.</summary>
    public abstract int ScratchSize { get; }

    /// <summary>The logit of <paramref name="t"/>; fills <paramref name="act"/> for <see cref="Backward{T}"/>.</summary>
    public abstract T Forward<T>(ReadOnlySpan<T> p, in Target t, Span<T> act) where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    /// <summary>Accumulates ∂loss/∂θ into <paramref name="g"/> for ∂loss/∂logit = <paramref name="dlogit"/>.</summary>
    public abstract void Backward<T>(ReadOnlySpan<T> p, Span<T> g, in Target t, T dlogit, ReadOnlySpan<T> act, Span<T> scratch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    public override void ForwardGroup<T>(ReadOnlySpan<T> p, ImpressionTargets targets, ReadOnlySpan<int> positions, Span<T> logits, GroupWork<T> work)
    {
        Span<T> act = work.Activations(positions.Length * ActivationSize);
        for (int k = 0; k < positions.Length; k++)
            logits[k] = Forward(p, targets.At(positions[k], Window), act.Slice(k * ActivationSize, ActivationSize));
    }

    public override void BackwardGroup<T>(ReadOnlySpan<T> p, Span<T> g, ImpressionTargets targets, ReadOnlySpan<int> positions,
        ReadOnlySpan<T> dlogits, GroupWork<T> work)
    {
        ReadOnlySpan<T> act = work.Activations(positions.Length * ActivationSize);
        Span<T> scratch = work.Scratch(ScratchSize);
        for (int k = 0; k < positions.Length; k++)
            Backward(p, g, targets.At(positions[k], Window), dlogits[k], act.Slice(k * ActivationSize, ActivationSize), scratch);
    }
}

/// <summary>
/// One worker's buffers for a group's forward and backward, grown to the largest group seen. The forward's
/// activations stay put until the backward of the same group reads them.
/// </summary>
public sealed class GroupWork<T> where T : unmanaged
{
    private T[] _activations = [], _scratch = [];

    public Span<T> Activations(int size)
    {
        if (_activations.Length < size) _activations = new T[size];
        return _activations.AsSpan(0, size);
    }

    public Span<T> Scratch(int size)
    {
        if (_scratch.Length < size) _scratch = new T[size];
        return _scratch.AsSpan(0, size);
    }
}
