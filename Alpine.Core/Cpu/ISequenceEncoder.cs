using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Cpu;

/// <summary>
/// The LSTM layer a model branch runs, with <see cref="GraphLstm{T}"/>'s forward/backward contract:
/// h (N, H) from x (N, D); backward assigns dx and accumulates dWx, dWh, dWg, db. Alpine.Kernels'
/// <c>GpuSequenceEncoder</c> wraps its device layer in the same host-span contract, so the cell tests drive
/// both layers through one call shape.
/// </summary>
public interface ISequenceEncoder<T> where T : unmanaged
{
    /// <summary>
    /// Whether <see cref="Backward"/> accepts an empty dx, meaning "not needed" (x has no trained part),
    /// and then skips computing it. Encoders that don't say so always get the full (N, D) dx.
    /// </summary>
    bool SkipsEmptyDx => false;

    void Forward(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b, SequenceSet seqs,
        ReadOnlySpan<T> x, Span<T> h);

    void Backward(ReadOnlySpan<T> wx, ReadOnlySpan<T> wh, ReadOnlySpan<T> wg, ReadOnlySpan<T> b, SequenceSet seqs,
        ReadOnlySpan<T> x, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dwx, Span<T> dwh, Span<T> dwg, Span<T> db);
}
