using System.Numerics.Tensors;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Serving;

/// <summary>
/// Builds and extends one branch's cached states (<see cref="BranchState"/>) with <see cref="CellStep"/>:
/// <see cref="Encode"/> runs a whole sequence with the prepared graph edges (SharedPrefix, SPEC D12: each sequence
/// encoded once) and keeps its last W states; <see cref="Append"/> adds one position, searching its graph
/// predecessors t* (SPEC D4's rule and tie order, <see cref="TemporalGraph.Offer"/>) over the W most recent
/// positions, which is O(W·d + H²) and needs only the kept states. Prepare searches the whole sequence; the two
/// agree whenever the nearest earlier positions lie among the W most recent, and always while the sequence has at
/// most W + 1 positions.
/// </summary>
internal sealed class StateEncoder
{
    private readonly CellStep _cell;
    private readonly ItemTable _items;
    private readonly float[] _category;   // thacil's trained category table, empty for kuaishou
    private readonly int _window, _topL;
    private readonly EdgeMetric _metric;

    public StateEncoder(CellStep cell, ItemTable items, ReadOnlySpan<float> category, int window, int topL, EdgeMetric metric)
    {
        _cell = cell; _items = items; _category = category.ToArray();
        _window = window; _topL = topL; _metric = metric;
    }

    private int Hd => _cell.H;
    /// <summary>Rows kept beyond W, so an append copies the W kept rows once per this many steps.</summary>
    private int Slack => Math.Max(8, _window / 8);
    private bool Carried => _cell.UseGraph && _cell.CStar == CStarReading.Carried;

    /// <summary>
    /// The states of a whole sequence with its prepared edges <paramref name="pred"/> (T·L), its kept rows in
    /// buffers of their own with room for appends, or, given <paramref name="slab"/>, at its offset with none.
    /// </summary>
    public BranchState Encode(ReadOnlySpan<int> items, ReadOnlySpan<int> pred, (float[] H, float[] C, int Offset)? slab = null)
    {
        int t = items.Length, hd = Hd;
        var h = new float[t * hd];
        var c = new float[t * hd];
        var cs = new float[hd];
        var scratch = new Scratch(_cell);
        for (int p = 0; p < t; p++)
            Step(scratch, h, c, p, items[p], pred.Slice(p * _topL, _topL), cs, h.AsSpan(p * hd, hd), c.AsSpan(p * hd, hd));
        int kept = Math.Min(t, _window), cap = slab is null ? kept + Slack : kept;
        var (hb, cb, offset) = slab ?? (new float[cap * hd], new float[cap * hd], 0);
        var ib = new int[cap];
        h.AsSpan((t - kept) * hd, kept * hd).CopyTo(hb.AsSpan(offset));
        c.AsSpan((t - kept) * hd, kept * hd).CopyTo(cb.AsSpan(offset));
        items[(t - kept)..].CopyTo(ib);
        return new BranchState(hb, cb, offset, ib, Carried ? cs : [], kept, t, hd);
    }

    /// <summary>
    /// <paramref name="s"/> with one more position, item <paramref name="item"/>. Writes only rows at or past
    /// s.Count of shared buffers (or new ones), so readers of <paramref name="s"/> are unaffected.
    /// </summary>
    public BranchState Append(BranchState s, int item)
    {
        int hd = Hd, count = s.Count;
        long p = s.Total;
        // Predecessors among the kept rows: row r is position p − count + r.
        Span<int> pred = stackalloc int[_topL];
        pred.Fill(-1);
        if (p == 1) pred[0] = count - 1;
        else if (p >= 2)
        {
            int lo = (int)Math.Max(0, count - (Math.Min(p, _window))), hi = count - 2;   // rows of [max(0, p−W), p−2]
            Search(s.Items, lo, hi, item, pred);
        }
        var scratch = new Scratch(_cell);
        var h = new float[hd];
        var c = new float[hd];
        var cs = s.CStarLast.Length > 0 ? (float[])s.CStarLast.Clone() : Carried ? new float[hd] : [];
        Step(scratch, s.H, s.C, count, item, pred, cs, h, c);

        if (count < s.Capacity)
        {
            h.CopyTo(s.H.Slice(count * hd, hd));
            c.CopyTo(s.C.Slice(count * hd, hd));
            s.Items[count] = item;
            return s.Next(cs);
        }
        // Full (or in a load-time slab): keep the W most recent rows (the rows a target or a later t* search can
        // read) in new buffers of its own.
        int keep = Math.Min(count, _window), cap = keep + Slack;
        float[] hb = new float[cap * hd], cb = new float[cap * hd];
        int[] ib = new int[cap];
        s.H.Slice((count - keep) * hd, keep * hd).CopyTo(hb);
        s.C.Slice((count - keep) * hd, keep * hd).CopyTo(cb);
        s.Items.AsSpan(count - keep, keep).CopyTo(ib);
        h.CopyTo(hb.AsSpan(keep * hd, hd));
        c.CopyTo(cb.AsSpan(keep * hd, hd));
        ib[keep] = item;
        return new BranchState(hb, cb, 0, ib, cs, keep + 1, p + 1, hd);
    }

    /// <summary>The top-L rows in [lo, hi] nearest to <paramref name="item"/> (SPEC D4: ties to the most recent).</summary>
    private void Search(ReadOnlySpan<int> rowItems, int lo, int hi, int item, Span<int> pred)
    {
        int dv = _items.VisualDim;
        ReadOnlySpan<float> visual = _items.Visual;
        var x = visual.Slice(item * dv, dv);
        float xNorm = _metric == EdgeMetric.Cosine ? TensorPrimitives.Norm(x) : 0f;
        Span<float> bestKey = stackalloc float[_topL];
        int found = 0;
        for (int k = lo; k <= hi; k++)
            TemporalGraph.Offer(bestKey, pred, ref found, TemporalGraph.Key(_metric, x, xNorm, visual.Slice(rowItems[k] * dv, dv)), k, newest: true);
    }

    /// <summary>
    /// The states of the position at row <paramref name="row"/> of the row space (<paramref name="h"/>,
    /// <paramref name="c"/>: rows of H), whose previous position is row − 1 and whose graph predecessors are the
    /// rows <paramref name="pred"/> (-1 absent). <paramref name="cStar"/> holds c*_{t−1} on entry (Carried) and
    /// c*_t on return.
    /// </summary>
    private void Step(Scratch s, ReadOnlySpan<float> h, ReadOnlySpan<float> c, int row, int item, ReadOnlySpan<int> pred,
        Span<float> cStar, Span<float> hOut, Span<float> cOut)
    {
        int hd = Hd;
        ItemEmbedding.Gather<float>(s.X, _items, _category, item);
        ReadOnlySpan<float> hPrev = row > 0 ? h.Slice((row - 1) * hd, hd) : [], cPrev = row > 0 ? c.Slice((row - 1) * hd, hd) : [];
        if (_cell.UseGraph)
        {
            // h* and (Neighbor) c*_prev: means over the valid predecessors, zero when none (SPEC D4, D5).
            s.HStar.AsSpan().Clear();
            s.CStarPrev.AsSpan().Clear();
            int valid = 0;
            bool neighbor = _cell.CStar == CStarReading.Neighbor;
            foreach (int q in pred)
            {
                if (q < 0) continue;
                valid++;
                TensorPrimitives.Add(s.HStar, h.Slice(q * hd, hd), s.HStar);
                if (neighbor) TensorPrimitives.Add(s.CStarPrev, c.Slice(q * hd, hd), s.CStarPrev);
            }
            if (valid > 1)
            {
                float scale = 1f / valid;
                TensorPrimitives.Multiply(s.HStar, scale, s.HStar);
                if (neighbor) TensorPrimitives.Multiply(s.CStarPrev, scale, s.CStarPrev);
            }
            if (!neighbor && row > 0) cStar.CopyTo(s.CStarPrev);
        }
        _cell.Forward(hOut, cOut, s.CStar, s.Gates, s.X, hPrev, cPrev, s.HStar, s.CStarPrev);
        if (cStar.Length > 0) s.CStar.CopyTo(cStar);
    }

    /// <summary>One step's temporaries.</summary>
    private sealed class Scratch(CellStep cell)
    {
        public readonly float[] X = new float[cell.D], Gates = new float[cell.G * cell.H],
            HStar = new float[cell.H], CStarPrev = new float[cell.H], CStar = new float[cell.H];
    }
}
