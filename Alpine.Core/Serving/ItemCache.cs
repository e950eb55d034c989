using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Alpine.Cpu;
using Alpine.Prep;
using Alpine.Model;

namespace Alpine.Serving;

/// <summary>
/// Every head's x part of the first <see cref="Count"/> items (<see cref="HeadParts.ItemParts"/>: K·M floats, 1.5 KB
/// at the default M = 128 with three heads), computed at load under a byte budget: items past it are computed per
/// request, so a catalogue of millions costs the budget, not K·M floats an item. Items' x never change while
/// serving (the visual features are fixed, the category embedding is a trained parameter), so the float cache is
/// exact; <see cref="ItemCachePrecision.BFloat16"/> keeps each part rounded to bfloat16 (the top 16 bits of its
/// float, round to nearest even), half the bytes a row, read back by a shift, and per item how far the rounding can
/// move a logit (<see cref="Slack"/>): a bfloat16 row only ranks (<see cref="CandidateScorer.Bounds"/>), and what is
/// returned is computed from float parts (<see cref="Parts"/>, <see cref="GatherTransposed"/> with <c>exact</c>).
/// </summary>
internal sealed class ItemCache
{
    private readonly HeadParts _heads;
    private readonly ItemTable _items;
    private readonly float[] _category;
    private readonly float[] _parts;
    private readonly ushort[] _bf16;
    private readonly float[] _slack;

    public ItemCache(HeadParts heads, ItemTable items, float[] category, long budgetBytes, ItemCachePrecision precision = ItemCachePrecision.Float)
    {
        _heads = heads; _items = items; _category = category;
        Precision = precision;
        bool bf16 = precision == ItemCachePrecision.BFloat16;
        int w = heads.ItemWidth;
        Count = (int)Math.Clamp(budgetBytes / BytesPerItem(precision, w), 0, Math.Min(items.Count, Array.MaxLength / w));
        // Pinned: Lines hands out addresses into them.
        _parts = bf16 ? [] : GC.AllocateUninitializedArray<float>(Count * w, pinned: true);
        _bf16 = bf16 ? GC.AllocateUninitializedArray<ushort>(Count * w, pinned: true) : [];
        _slack = bf16 ? new float[Count] : [];
        ReadOnlySpan<float> w2 = heads.W2Alpha;
        const int Block = 4096;
        var x = new float[Block * heads.D];
        var rows = bf16 ? new float[Block * w] : [];
        for (int i0 = 0; i0 < Count; i0 += Block)
        {
            int n = Math.Min(Block, Count - i0);
            for (int i = 0; i < n; i++) Embed(i0 + i, x.AsSpan(i * heads.D, heads.D));
            if (!bf16)
            {
                heads.ItemParts(_parts.AsSpan(i0 * w, n * w), x.AsSpan(0, n * heads.D), parallel: true);
                continue;
            }
            heads.ItemParts(rows.AsSpan(0, n * w), x.AsSpan(0, n * heads.D), parallel: true);
            for (int i = 0; i < n; i++)
            {
                // Σ_j |α w2_j| |part_j − bfloat16(part_j)| (ReLU moves by no more than its input: the two rows'
                // logits before rounding differ by at most this) and the parts' share of the terms' magnitude,
                // Σ_j |α w2_j| max(|part_j|, |bfloat16(part_j)|), in double.
                double slack = 0, magnitude = 0;
                for (int j = 0; j < w; j++)
                {
                    float part = rows[i * w + j];
                    ushort half = ToBFloat16(part);
                    _bf16[(long)(i0 + i) * w + j] = half;
                    double weight = Math.Abs((double)w2[j]), rounded = FromBFloat16(half);
                    slack += weight * Math.Abs(part - rounded);
                    magnitude += weight * Math.Max(Math.Abs((double)part), Math.Abs(rounded));
                }
                float bound = (float)(slack * (1 + 1e-6) + heads.RoundingShare * (magnitude + slack));
                _slack[i0 + i] = float.IsFinite(bound) ? MathF.BitIncrement(bound) : float.PositiveInfinity;
            }
        }
    }

    /// <summary>
    /// Item <paramref name="item"/>'s share of how far a logit computed from its bfloat16 row can lie from the one
    /// computed from its float row: the rounding of the parts, and the float rounding of both sums in proportion to
    /// the parts' magnitude (<see cref="HeadParts.RoundingShare"/>); the call adds the share of W1_f f and the bias
    /// (<see cref="CandidateScorer.Bounds"/>). 0 for an item with no bfloat16 row.
    /// </summary>
    public float Slack(int item) => item < _slack.Length ? _slack[item] : 0f;

    public ItemCachePrecision Precision { get; }
    /// <summary>Items 0..Count−1 are cached.</summary>
    public int Count { get; }
    public long Bytes => 4L * _parts.Length + 2L * _bf16.Length + 4L * _slack.Length;

    /// <summary>Bytes an item takes in a cache of <paramref name="precision"/> with rows of <paramref name="width"/> parts (bfloat16: its bound too).</summary>
    public static long BytesPerItem(ItemCachePrecision precision, int width) =>
        precision == ItemCachePrecision.BFloat16 ? 2L * width + sizeof(float) : 4L * width;

    /// <summary>The bfloat16 nearest <paramref name="v"/> (ties to even), as its bits: a float's top 16 bits.</summary>
    public static ushort ToBFloat16(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        if (float.IsNaN(v)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>The float whose top 16 bits are <paramref name="bits"/>: a bfloat16 read back exactly.</summary>
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The item's x (D).</summary>
    public void Embed(int item, Span<float> x) => ItemEmbedding.Gather<float>(x, _items, _category, item);

    /// <summary>
    /// Room <see cref="Lines"/> needs for <paramref name="items"/> items: per item the cache lines of its cached row
    /// and of its visual features (each may straddle one more line than its bytes fill), and once the seven
    /// addresses the last vector store may write past the end.
    /// </summary>
    public int LineRoom(int items) => items * ((int)(RowBytes / 64) + _items.VisualDim * sizeof(float) / 64 + 4) + 8;

    private long RowBytes => (long)_heads.ItemWidth * (_parts.Length > 0 ? sizeof(float) : sizeof(ushort));

    /// <summary>
    /// The addresses of the cache lines that scoring <paramref name="items"/> reads from memory (each cached row,
    /// unless not <paramref name="rows"/>, and each item's visual features) into <paramref name="lines"/>, at least <see cref="LineRoom"/> long;
    /// returns how many, for a <see cref="Gemm.PrefetchStream"/>. The cache rows lie on the pinned heap; the
    /// features array could in principle move under a compacting GC, and a prefetch of a stale address only misses.
    /// </summary>
    public unsafe int Lines(ReadOnlySpan<int> items, Span<nint> lines, bool rows = true)
    {
        if (lines.Length < LineRoom(items.Length))
            throw new ArgumentException($"lines holds {lines.Length} addresses, fewer than the {LineRoom(items.Length)} {items.Length} items need");
        int n = 0;
        long rowBytes = RowBytes;
        fixed (float* floats = _parts)
        fixed (ushort* halves = _bf16)
        fixed (nint* to = lines)
        {
            nint parts = _parts.Length > 0 ? (nint)floats : (nint)halves;
            if (rows)
                foreach (int item in items)
                    if (item < Count) n = Range(to, n, parts + (nint)(item * rowBytes), rowBytes);
            int visualBytes = _items.VisualDim * sizeof(float);
            fixed (float* visual = _items.Visual)
                foreach (int item in items) n = Range(to, n, (nint)visual + (nint)((long)item * visualBytes), visualBytes);
        }
        return n;

        // The lines of [start, start + bytes) at to[n..], eight addresses a store; returns the new n.
        static int Range(nint* to, int n, nint start, long bytes)
        {
            if (bytes <= 0) return n;
            long first = start & ~63L, count = (start + bytes - 1 - first) / 64 + 1;
            if (IntPtr.Size != sizeof(long))
                for (long i = 0; i < count; i++) to[n + i] = (nint)(first + 64 * i);
            else
            {
                var line = Vector512.Create(first) + Vector512.Create(0L, 64, 128, 192, 256, 320, 384, 448);
                for (long i = 0; i < count; i += 8, line += Vector512.Create(512L)) line.Store((long*)(to + n + i));
            }
            return n + (int)count;
        }
    }

    /// <summary>The cached float parts (K·M) of <paramref name="item"/>; empty for an item past the cache or a bfloat16 cache.</summary>
    public ReadOnlySpan<float> Row(int item) => item < Count && _parts.Length > 0 ? _parts.AsSpan(item * _heads.ItemWidth, _heads.ItemWidth) : default;

    /// <summary>The cached bfloat16 parts (K·M) of <paramref name="item"/>; empty for an item past the cache or a float cache.</summary>
    public ReadOnlySpan<ushort> RowBFloat16(int item) => item < Count && _bf16.Length > 0 ? _bf16.AsSpan(item * _heads.ItemWidth, _heads.ItemWidth) : default;

    /// <summary>
    /// The parts (n, K·M) of <paramref name="items"/>: copied from the cache, the rest computed (their x gathered
    /// into <paramref name="x"/> (n, D), which also receives every item's x).
    /// </summary>
    public void Parts(ReadOnlySpan<int> items, Span<float> parts, Span<float> x)
    {
        int w = _heads.ItemWidth;
        Gather(items, x, parts);   // computes the others: a bfloat16 row only ranks
        for (int i = 0; i < items.Length; i++)
            if (items[i] < FloatRows) Row(items[i]).CopyTo(parts.Slice(i * w, w));
    }

    /// <summary>
    /// Every item's x into <paramref name="x"/> (n, D) and the float parts of the items without a cached float row
    /// into their rows of <paramref name="parts"/> (n, K·M); the rows of cached items are left as they are (read
    /// them with <see cref="Row"/>).
    /// </summary>
    public void Gather(ReadOnlySpan<int> items, Span<float> x, Span<float> parts)
    {
        int d = _heads.D, missing = 0;
        for (int i = 0; i < items.Length; i++)
        {
            Embed(items[i], x.Slice(i * d, d));
            if (items[i] >= FloatRows) missing++;
        }
        ComputeMissing(items, parts, x, missing, FloatRows);
    }

    /// <summary>Items 0..FloatRows−1 have cached float parts (<see cref="Row"/>): <see cref="Count"/> in a float cache, none in a bfloat16 one.</summary>
    private int FloatRows => _parts.Length > 0 ? Count : 0;

    /// <summary>
    /// Every item's x transposed into <paramref name="xT"/> (D, n), and, for the items past the cache (with
    /// <paramref name="exact"/>, every item without a cached float row), x into their rows of <paramref name="x"/>
    /// (n, D) and their float parts into their rows of <paramref name="parts"/> (n, K·M).
    /// </summary>
    public unsafe void GatherTransposed(ReadOnlySpan<int> items, Span<float> xT, Span<float> parts, Span<float> x, bool exact = false)
    {
        int cached = exact ? FloatRows : Count;   // items below it have the row the caller reads
        int d = _heads.D, n = items.Length, missing = 0;
        if (xT.Length < d * n) throw new ArgumentException($"xT holds {xT.Length} floats, fewer than D·n = {d * n}");
        Span<float> xi = d <= 1024 ? stackalloc float[d] : new float[d];
        bool visualOnly = d == _items.VisualDim;   // x is the item's visual row itself: read it in place
        // Sixteen items by sixteen features at a time: sixteen vector loads, a transpose by shuffles, sixteen vector
        // stores (instead of 256 scattered scalar stores); the rest one by one.
        int blocked = visualOnly && Avx512F.IsSupported && d % 16 == 0 ? n / 16 * 16 : 0;
        var v = stackalloc Vector512<float>[16];
        var u = stackalloc Vector512<float>[16];
        fixed (float* t = xT, visual = _items.Visual, xp = xi)
        {
            for (int i0 = 0; i0 < blocked; i0 += 16)
                for (int k0 = 0; k0 < d; k0 += 16)
                {
                    for (int r = 0; r < 16; r++) v[r] = Vector512.Load(visual + (long)items[i0 + r] * d + k0);
                    Simd<float>.Transpose16(v, u);
                    for (int j = 0; j < 16; j++) v[j].Store(t + (long)(k0 + j) * n + i0);
                }
            for (int i = 0; i < blocked; i++)
            {
                if (items[i] < cached) continue;
                new ReadOnlySpan<float>(visual + (long)items[i] * d, d).CopyTo(x.Slice(i * d, d));
                missing++;
            }
            for (int i = blocked; i < n; i++)
            {
                float* column = t + i, row;
                if (visualOnly) row = visual + (long)items[i] * d;
                else
                {
                    Embed(items[i], xi);
                    row = xp;
                }
                for (int k = 0; k < d; k++) column[(long)k * n] = row[k];
                if (items[i] < cached) continue;
                new ReadOnlySpan<float>(row, d).CopyTo(x.Slice(i * d, d));
                missing++;
            }
        }
        ComputeMissing(items, parts, x, missing, cached);
    }

    /// <summary>The parts of the <paramref name="missing"/> items at or past <paramref name="cached"/> from their rows of <paramref name="x"/>.</summary>
    private void ComputeMissing(ReadOnlySpan<int> items, Span<float> parts, Span<float> x, int missing, int cached)
    {
        int w = _heads.ItemWidth, d = _heads.D;
        if (missing == 0) return;
        if (missing == items.Length)
        {
            _heads.ItemParts(parts[..(items.Length * w)], x[..(items.Length * d)], parallel: false);
            return;
        }
        for (int i = 0; i < items.Length; i++)
            if (items[i] >= cached) _heads.ItemParts(parts.Slice(i * w, w), x.Slice(i * d, d), parallel: false);
    }
}
