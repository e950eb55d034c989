using Alpine.Model;

namespace Alpine.Cpu;

/// <summary>The buffers <see cref="GraphLstm{T}"/> owns: activations and their gradients in packed row order, the
/// per-sequence scratch and the per-group weight-gradient slots; they grow only (STYLE.md), with headroom.</summary>
public sealed partial class GraphLstm<T>
{
    // The weight gradients of each sequence group as two GEMM outputs, one per gate half, summed over the
    // groups in group order and then added into the caller's:
    // sequential half (4Hs, Hs + D) = dgates[:, 0:4Hs]ᵀ · [h_{t−1} | x]  → [dWh | dWx rows 0:4H];
    // graph half      (4Hs, D + Hs) = dgates[:, 4Hs:8Hs]ᵀ · [x | h*]     → [dWx rows 4H:8H | dWg].
    private readonly int _dwSize;        // both halves of one group
    private T[] _dwGroups = [];          // (groups, _dwSize)
    private readonly int _sx;           // Sx = Hs + D (+ Hs): the row stride of _xh
    private T[] _dbSeq = [];            // (B, G·Hs) each sorted sequence's Σ_t dgates

    // Activations in packed row order (N rows, see GraphLstmSchedule).
    // (N, Sx) [h_{t−1} | x_t | h*] side by side (h* only with the graph path): the A operands of the input
    // and recurrent GEMMs, and, as adjacent column pairs, the B operands of the two weight-gradient GEMMs,
    // each of which then reads its half of dgates once.
    private T[] _xh = [];
    private T[] _gates = [];   // (N, G·Hs) pre-activations, then i f o u [i* f* o* u*]
    private T[] _c = [];       // (N, Hs)  c_t
    private T[] _h = [];       // (N, Hs)  h_t
    private T[] _csPrev = [];  // (N, Hs)  c*_prev  (graph path only)
    private T[] _cs = [];      // (N, Hs)  c*_t     (graph path only)
    // Gradients in packed row order.
    // (N, G·Hs) dL/d pre-activations: the same array as _gates. The backward cell reads a row's activations
    // and writes their gradients over them, so the largest buffer (N × 8H floats) goes through memory once
    // fewer (no separate write-allocate) and exists once; Backward thereby consumes its Forward.
    private T[] _dgates = [];
    private T[] _dh = [];      // (N, Hs)  dL/dh_t: from above, from step t+1, and from later steps reading t as t*
    private T[] _dc = [];      // (N, Hs)  dL/dc_t: from step t+1, and (Neighbor) from later steps reading t as t*
    private T[] _dcs = [];     // (N, Hs)  dL/dc*_t: (Carried) from step t+1; then dL/dc*_prev
    // Per-sequence scratch (rows indexed by sorted sequence), small enough to stay in L2 across a step.
    private T[] _rec = [];     // (B, G·Hs) the recurrent part of the pre-activations of the current step
    private T[] _dhRec = [];   // (B, Hs)   dL/dh_{t−1} from step t, until the cell of t−1 adds it
    private T[] _dhStar = [];  // (B, Hs)   dL/dh* of the current step
    private T[] _dx = [];      // (N, D), only when the caller asks for dx
    private nint _in;          // the caller's x (Forward) or dh (Backward), pinned while the groups run
    private nint _out;         // the caller's h (Forward) or dx (Backward), pinned while the groups run
    /// <summary>The caller's span pinned at <see cref="_in"/>.</summary>
    private unsafe ReadOnlySpan<T> Pinned(int length) => new((T*)_in, length);

    /// <summary>Grows the activation buffers to N rows and the scratch to B sequences; never shrinks.</summary>
    private void Allocate(int n, int b)
    {
        if (_dhRec.Length < b * _hs)
        {
            _rec = new T[b * G * _hs]; _dhRec = new T[b * _hs]; _dhStar = new T[b * _hs];
        }
        if (_c.Length >= n * _hs) return;
        // Headroom (Buffers), the same number of rows for every activation buffer, within what one array can
        // hold: the gates buffer, G·Hs per row, is the widest.
        long most = Array.MaxLength / (G * _hs);
        if (n > most) throw new ArgumentException($"graph-LSTM: {n} rows do not fit one buffer (at most {most} at H = {H})");
        n = (int)Math.Min(Buffers.WithHeadroom(n, first: _c.Length == 0), most);
        int ns = n * _hs, gs = UseGraph ? ns : 0;
        _xh = Buffers.Allocate<T>((long)n * _sx);
        _gates = _dgates = Buffers.Allocate<T>((long)n * G * _hs);
        _c = Buffers.Allocate<T>(ns); _h = Buffers.Allocate<T>(ns); _dh = Buffers.Allocate<T>(ns); _dc = Buffers.Allocate<T>(ns);
        _csPrev = Buffers.Allocate<T>(gs); _cs = Buffers.Allocate<T>(gs); _dcs = Buffers.Allocate<T>(gs);
    }
}
