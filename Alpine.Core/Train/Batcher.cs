using System.Diagnostics;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Train;

/// <summary>
/// Turns a list of target impressions into one <see cref="Batch"/> (SPEC D12), in either mode:
/// <list type="bullet">
/// <item><see cref="BatchMode.SharedPrefix"/>: each user of the batch gets one click and one not-click
/// sequence, the prefix <c>[0, max end)</c> of that user's full sequence over its targets, with the graph
/// edges computed once in preparation (edges only look back, so a prefix's edges are the full sequence's).
/// Target τ reads positions <c>[max(0, end − W), end)</c> of it: the ≤ W most recent states before τ.</item>
/// <item><see cref="BatchMode.Window"/> (the paper): each target reads its own ≤ W most recent items, with
/// window-local edges (the window is the whole sequence the LSTM sees); the windows of a user that are its whole
/// history are prefixes of one sequence, encoded once (<see cref="EncodeWindows"/>).</item>
/// </list>
/// The two give one model: equal when no user has more than W items of a kind before any target, because the
/// LSTM state at a position depends only on earlier positions (SPEC D12).
/// </summary>
public sealed class Batcher
{
    private readonly PreparedData _data;
    private readonly SequenceView _clicks, _notClicks;
    private readonly ModelConfig _config;
    private readonly BatchMode _mode;
    // Per user: its local sequence index in the batch being built (stamped with the batch's number, so never cleared).
    private readonly int[] _localOf, _stampOf;
    private int _stamp;

    /// <summary>One kind of sequence as batching reads it (see <see cref="PreparedData"/>).</summary>
    private sealed record SequenceView(int[] Offsets, int[] Items, int[] Pred, int[] HistEnd);

    /// <summary>Not thread-safe: it keeps per-user scratch between batches.</summary>
    public Batcher(PreparedData data, ModelConfig config, BatchMode mode)
    {
        if (config.TopL != data.TopL)
            throw new Data.UsageException($"--top-l {config.TopL} differs from the {data.TopL} graph neighbours the data was prepared with (alpine prepare --top-l)");
        if (config.Profile != data.Profile)
            throw new Data.UsageException($"a {config.Profile} model cannot read {data.Profile} data");
        _data = data; _config = config; _mode = mode;
        _clicks = new SequenceView(data.ClickOffsets, data.ClickItem, data.ClickGraphPred, data.ClickHistEnd);
        _notClicks = new SequenceView(data.NotClickOffsets, data.NotClickItem, data.NotClickGraphPred, data.NotClickHistEnd);
        _localOf = new int[data.UserCount];
        _stampOf = new int[data.UserCount];
        // The shared window search is exact only when edge keys are totally ordered (no NaN); else search each window.
        SearchEachWindow = mode == BatchMode.Window && !WindowEdges.KeysAreOrdered(data.Items.Visual, data.Items.VisualDim, data.Metric);
        UserOf = new int[data.ImpressionCount];
        for (int u = 0; u < data.UserCount; u++)
            UserOf.AsSpan(data.UserOffsets[u], data.UserOffsets[u + 1] - data.UserOffsets[u]).Fill(u);
    }

    /// <summary>
    /// Window mode: whether truncated windows get their edges from one <see cref="TemporalGraph.Build"/> search each
    /// (the reference, and the fallback when keys can be NaN) rather than from <see cref="WindowEdges"/> (the same
    /// edges, shared search). Tests and benchmarks set it to compare the two.
    /// </summary>
    internal bool SearchEachWindow { get; set; }

    /// <summary>
    /// Window mode: whether a user's windows that fit W are read from one shared prefix (the default; see
    /// <see cref="EncodeWindows"/>) rather than each target encoding its own copy, as the paper lays them out.
    /// Tests and benchmarks turn it off to compare the two.
    /// </summary>
    internal bool SharePrefixes { get; set; } = true;

    /// <summary>The user of each impression position.</summary>
    public int[] UserOf { get; }

    /// <summary>Positions of one part (SPEC D1), user by user, chronological within a user.</summary>
    public int[] PositionsOf(Data.SplitPart part)
    {
        var list = new List<int>();
        for (int p = 0; p < _data.ImpressionCount; p++) if (_data.Part[p] == part) list.Add(p);
        return [.. list];
    }

    /// <summary>Whether impression p was clicked.</summary>
    public bool Clicked(int p) => (_data.Flags[p] & Data.InteractionLog.ClickFlag) != 0;

    /// <summary>LSTM cell-steps a batch costs: the steps of every sequence the backend encodes.</summary>
    public static long CellSteps(Batch b) => (long)b.Clicks.TotalSteps + b.NotClicks.TotalSteps;

    /// <summary>
    /// <see cref="CellSteps"/> of the batch <see cref="Build"/> would make of <paramref name="targets"/>, without
    /// building it: how benchmarks count an epoch's LSTM work in either mode without running it.
    /// </summary>
    public long CountCellSteps(ReadOnlySpan<int> targets)
    {
        var counter = NewCounter();
        foreach (int p in targets) counter.Add(p);
        return counter.Total;
    }

    /// <summary>A <see cref="CellStepCounter"/> of no targets yet.</summary>
    public CellStepCounter NewCounter() => new(this);

    /// <summary>
    /// The cell-steps of a list of targets as <see cref="Build"/> lays them out, grown a target at a time: each
    /// sequence is keyed as Build keys it (SharedPrefix: the user; Window: <see cref="WindowKey"/>) and is as long
    /// as its longest reader needs, so a target costs what it lengthens or adds, often nothing.
    /// </summary>
    public sealed class CellStepCounter
    {
        private readonly Batcher _b;
        private readonly Dictionary<long, int> _clicks = [], _notClicks = [];
        private int _count;

        internal CellStepCounter(Batcher b) => _b = b;

        public long Total { get; private set; }

        /// <summary>Adds target position <paramref name="p"/>; returns the cell-steps it adds to <see cref="Total"/>.</summary>
        public long Add(int p)
        {
            long more = More(_b._clicks, _clicks, p);
            if (_b._config.UsesUninterest) more += More(_b._notClicks, _notClicks, p);
            _count++;
            Total += more;
            return more;
        }

        private long More(SequenceView s, Dictionary<long, int> length, int p)
        {
            int u = _b.UserOf[p], e = s.HistEnd[p];
            bool window = _b._mode == BatchMode.Window;
            long key = window ? _b.WindowKey(u, e, _count) : u;
            int len = window ? Math.Min(e, _b._config.Window) : e, had = length.GetValueOrDefault(key);
            if (len <= had) return 0;
            length[key] = len;
            return len - had;
        }
    }

    /// <summary>Builds the batch of <paramref name="targets"/> (positions of the prepared impressions).</summary>
    public Batch Build(ReadOnlySpan<int> targets)
    {
        int n = targets.Length;
        var user = new int[n];
        var item = new int[n];
        var label = new float[n];
        for (int t = 0; t < n; t++)
        {
            int p = targets[t];
            user[t] = UserOf[p];
            item[t] = _data.Item[p];
            label[t] = Clicked(p) ? 1f : 0f;
        }
        var (clicks, cSeq, cStart, cEnd) = Encode(_clicks, targets, user);
        var (notClicks, nSeq, nStart, nEnd) = _config.UsesUninterest
            ? Encode(_notClicks, targets, user)
            : (SequenceSet.Empty(_data.TopL), new int[n], new int[n], new int[n]); // dropped branch: never read (SPEC D10)
        return new Batch
        {
            Clicks = clicks, NotClicks = notClicks,
            TargetUser = user, TargetItem = item, Label = label,
            ClickSeq = cSeq, ClickStart = cStart, ClickEnd = cEnd,
            NotClickSeq = nSeq, NotClickStart = nStart, NotClickEnd = nEnd,
        };
    }

    private (SequenceSet Set, int[] Seq, int[] Start, int[] End) Encode(SequenceView s, ReadOnlySpan<int> targets, int[] user)
        => _mode == BatchMode.SharedPrefix ? EncodeShared(s, targets, user) : EncodeWindows(s, targets, user);

    private (SequenceSet, int[], int[], int[]) EncodeShared(SequenceView s, ReadOnlySpan<int> targets, int[] user)
    {
        int n = targets.Length, w = _config.Window, L = _data.TopL;
        var seq = new int[n];
        var start = new int[n];
        var end = new int[n];
        // Pass 1: one local sequence per user, as long as its latest target's history.
        _stamp++;
        var users = new List<int>();
        var length = new List<int>();
        for (int t = 0; t < n; t++)
        {
            int u = user[t], e = s.HistEnd[targets[t]];
            if (_stampOf[u] != _stamp) { _stampOf[u] = _stamp; _localOf[u] = users.Count; users.Add(u); length.Add(0); }
            int local = _localOf[u];
            length[local] = Math.Max(length[local], e);
            seq[t] = local; start[t] = Math.Max(0, e - w); end[t] = e;
        }
        // Pass 2: copy each prefix and its prepared edges (positions are within the sequence, so they carry over).
        var offsets = new int[users.Count + 1];
        for (int k = 0; k < users.Count; k++) offsets[k + 1] = offsets[k] + length[k];
        var items = new int[offsets[^1]];
        var pred = new int[offsets[^1] * L];
        for (int k = 0; k < users.Count; k++)
        {
            int from = s.Offsets[users[k]], len = length[k];
            Debug.Assert(from + len <= s.Offsets[users[k] + 1]);
            s.Items.AsSpan(from, len).CopyTo(items.AsSpan(offsets[k]));
            s.Pred.AsSpan(from * L, len * L).CopyTo(pred.AsSpan(offsets[k] * L));
        }
        return (new SequenceSet(offsets, items, pred, L), seq, start, end);
    }

    /// <summary>
    /// Window mode's sequences. A target whose history of this kind fits W reads its whole history, a prefix of the
    /// user's sequence, and the LSTM state at a position depends only on earlier positions: all such windows of a
    /// user are read from one sequence, that user's longest of them (the values the paper's own copy of each window
    /// gives, and the same bits forward; the gradients' sums run in another order). Each distinct truncated window
    /// (user, history end) is a sequence of its own, W items with window-local edges. Sequences in order of first
    /// appearance. With <see cref="SharePrefixes"/> off, every target its own sequence (the paper's layout).
    /// </summary>
    private (SequenceSet, int[], int[], int[]) EncodeWindows(SequenceView s, ReadOnlySpan<int> targets, int[] user)
    {
        int n = targets.Length, w = _config.Window, L = _data.TopL;
        var seq = new int[n];
        var start = new int[n];
        var end = new int[n];
        var seqUser = new List<int>();
        var seqHist = new List<int>();
        var seqLen = new List<int>();
        var seqOf = new Dictionary<long, int>();
        for (int t = 0; t < n; t++)
        {
            int u = user[t], e = s.HistEnd[targets[t]], len = Math.Min(e, w);
            long key = WindowKey(u, e, t);
            if (!seqOf.TryGetValue(key, out int k))
            {
                seqOf.Add(key, k = seqUser.Count);
                seqUser.Add(u); seqHist.Add(e); seqLen.Add(len);
            }
            else if (e <= w && e > seqLen[k]) { seqHist[k] = e; seqLen[k] = e; }   // a longer prefix of the user's
            seq[t] = k; end[t] = len;
        }
        int m = seqUser.Count;
        var offsets = new int[m + 1];
        for (int k = 0; k < m; k++) offsets[k + 1] = offsets[k] + seqLen[k];
        var items = new int[offsets[^1]];
        var pred = new int[offsets[^1] * L];
        bool searchEach = SearchEachWindow;
        // Each sequence writes only its own slices, so the parallel loop gives the same batch on any schedule (SPEC D13).
        Parallel.For(0, m, k =>
        {
            int e = seqHist[k], len = seqLen[k], from = s.Offsets[seqUser[k]] + e - len;
            var window = items.AsSpan(offsets[k], len);
            s.Items.AsSpan(from, len).CopyTo(window);
            if (len == e)
                // The window is the whole prefix: its edges are the prepared ones (edges only look back).
                s.Pred.AsSpan(from * L, len * L).CopyTo(pred.AsSpan(offsets[k] * L));
            else if (searchEach)
                // Window-local edges: the window is the whole sequence this target's LSTM sees (the paper).
                TemporalGraph.Build(window, _data.Items.Visual, _data.Items.VisualDim, L, _data.Metric, pred.AsSpan(offsets[k] * L, len * L));
        });
        if (!searchEach) TruncatedWindowEdges(s, [.. seqUser], [.. seqHist], [.. seqLen], offsets, pred);
        return (new SequenceSet(offsets, items, pred, L), seq, start, end);
    }

    /// <summary>
    /// Which Window sequence target <paramref name="t"/> of user <paramref name="u"/> with history end
    /// <paramref name="e"/> reads: the user's prefix (e ≤ W), its truncated window (u, e), or, with
    /// <see cref="SharePrefixes"/> off, its own.
    /// </summary>
    private long WindowKey(int u, int e, int t) =>
        !SharePrefixes ? ~(long)t : (long)u << 32 | (uint)(e <= _config.Window ? 0 : e);

    /// <summary>
    /// The window-local edges of every truncated window (history longer than W) of a Window batch, the same as
    /// searching each copied window (<see cref="TemporalGraph.Build"/>) but with <see cref="WindowEdges"/>: a
    /// user's distinct windows searched together (a piece's targets share most of their windows, and targets
    /// with one history end share all of it), each duplicate then copied from its first.
    /// </summary>
    private void TruncatedWindowEdges(SequenceView s, int[] user, int[] hist, int[] len, int[] offsets, int[] pred)
    {
        int L = _data.TopL;
        // Truncated targets by (user, history end): each run of equal keys is one window.
        var key = new List<long>();
        var target = new List<int>();
        for (int t = 0; t < hist.Length; t++)
            if (len[t] < hist[t]) { key.Add((long)user[t] << 32 | (uint)hist[t]); target.Add(t); }
        if (key.Count == 0) return;
        long[] keys = [.. key];
        int[] byKey = [.. target];
        Array.Sort(keys, byKey);

        // Per user: its distinct windows (ascending start, user positions) and the batch offset of each one's rows.
        var winStart = new List<int>();
        var winEnd = new List<int>();
        var winPred = new List<int>();
        var groupFirst = new List<int> { 0 }; // group g's windows are [groupFirst[g], groupFirst[g+1])
        var groupUser = new List<int>();
        var copies = new List<(int Target, int FirstPred)>(); // a duplicate window and its first's rows
        for (int a = 0; a < keys.Length; a++)
        {
            int t = byKey[a];
            bool newUser = a == 0 || user[byKey[a - 1]] != user[t];
            if (newUser && a > 0) groupFirst.Add(winStart.Count);
            if (newUser) groupUser.Add(user[t]);
            if (a > 0 && keys[a] == keys[a - 1]) { copies.Add((t, winPred[^1])); continue; }
            winStart.Add(hist[t] - len[t]); winEnd.Add(hist[t]); winPred.Add(offsets[t] * L);
        }
        groupFirst.Add(winStart.Count);

        // Work items: runs of ≤ Chunk positions of one user's union of windows; each writes the rows of its positions.
        const int Chunk = 32;
        var work = new List<(int Group, int From, int To)>();
        for (int g = 0; g < groupUser.Count; g++)
        {
            int lo = winStart[groupFirst[g]], hi = 0;
            for (int i = groupFirst[g]; i < groupFirst[g + 1]; i++) hi = Math.Max(hi, winEnd[i]);
            for (int p = lo; p < hi; p += Chunk) work.Add((g, p, Math.Min(p + Chunk, hi)));
        }
        int[] starts = [.. winStart], ends = [.. winEnd], predOffsets = [.. winPred];
        Parallel.For(0, work.Count, x =>
        {
            var (g, from, to) = work[x];
            int u = groupUser[g], a = groupFirst[g], b = groupFirst[g + 1], o = s.Offsets[u];
            WindowEdges.Build(pred, predOffsets.AsSpan(a, b - a), s.Items.AsSpan(o, s.Offsets[u + 1] - o),
                s.Pred.AsSpan(o * L, (s.Offsets[u + 1] - o) * L), starts.AsSpan(a, b - a), ends.AsSpan(a, b - a), from, to,
                _data.Items.Visual, _data.Items.VisualDim, L, _data.Metric);
        });
        foreach (var (t, first) in copies) pred.AsSpan(first, len[t] * L).CopyTo(pred.AsSpan(offsets[t] * L));
    }
}
