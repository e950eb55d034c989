using Alpine.Model;
using Alpine.Train;

namespace Alpine.Distributed;

/// <summary>
/// How one global batch is cut: into one share per rank (whole users, so SharedPrefix encodes each user's prefix
/// on one rank only), and each share into chunks whose LSTM activations fit the memory budget. Both cuts depend
/// only on the batch, the rank count and the budget, so every rank computes every rank's cut alike.
/// </summary>
public static class BatchShares
{
    /// <summary>
    /// The targets of <paramref name="batch"/> by rank: users in order of first appearance, each whole on the rank
    /// whose 1/<paramref name="ranks"/> of the batch holds the middle of the user's targets, so shares are
    /// contiguous runs of users of about equal size (a rank may get none when the batch has fewer users than ranks).
    /// </summary>
    public static int[][] Shares(ReadOnlySpan<int> batch, int[] userOf, int ranks)
    {
        var users = ByUser(batch, userOf);
        var shares = new List<int>[ranks];
        for (int r = 0; r < ranks; r++) shares[r] = [];
        long before = 0;
        foreach (var targets in users)
        {
            // 2·(before + n/2)·ranks / (2·B): the middle in integers, so no rounding can move a user.
            int r = (int)Math.Min(ranks - 1, (2 * before + targets.Count) * ranks / (2L * batch.Length));
            shares[r].AddRange(targets);
            before += targets.Count;
        }
        return [.. shares.Select(s => s.ToArray())];
    }

    /// <summary>
    /// <paramref name="share"/> cut into runs whose LSTM work (<see cref="Batcher.CountCellSteps"/>) stays within
    /// <paramref name="maxCellSteps"/>: whole users packed in order, a user over the budget alone cut between
    /// its targets, each piece of it costed as the batch would lay it out (its targets share its prefixes), so a
    /// chunk ends only where the next target would take it over. A single target over the budget is a chunk of
    /// its own (it cannot be cut further).
    /// </summary>
    public static List<int[]> Chunks(int[] share, Batcher batcher, long maxCellSteps)
    {
        var chunks = new List<int[]>();
        var current = new List<int>();
        long cost = 0;
        void Flush() { chunks.Add([.. current]); current.Clear(); cost = 0; }
        foreach (var user in ByUser(share, batcher.UserOf))
        {
            long steps = batcher.CountCellSteps(user.ToArray());
            if (steps <= maxCellSteps)
            {
                if (current.Count > 0 && cost + steps > maxCellSteps) Flush();
                current.AddRange(user);
                cost += steps;
                continue;
            }
            // Sequences belong to one user, so this user's part of a chunk costs what its own targets there need.
            var counter = batcher.NewCounter();
            foreach (int t in user)
            {
                long more = counter.Add(t);
                if (current.Count > 0 && cost + more > maxCellSteps)
                {
                    Flush();
                    counter = batcher.NewCounter();
                    more = counter.Add(t);
                }
                current.Add(t);
                cost += more;
            }
        }
        if (current.Count > 0 || chunks.Count == 0) Flush();
        return chunks;
    }

    /// <summary>
    /// Bytes of activations and their gradients one LSTM cell-step holds during a training batch: the graph-LSTM's
    /// per-row buffers (<c>GraphLstm.Buffers</c>: [h | x | h*], 8H gates, c, h, dh, dc, c*, c*_prev, dc* and dx;
    /// 17H + 2D floats), the item embeddings read and their gradient (2D), the batch's item and L edge indices,
    /// and a quarter of headroom (the buffers grow by that). The rest of a batch (per-target attention and MLP
    /// rows) is a few hundred floats per target, small beside the cell-steps of a Window batch.
    /// </summary>
    public static long BytesPerCellStep(ModelConfig c) =>
        (long)(sizeof(float) * (17L * c.HiddenSize + 4L * c.ItemDim) + sizeof(int) * (c.TopL + 1L)) * 5 / 4;

    /// <summary>The targets of <paramref name="batch"/> grouped by user, users in order of first appearance, targets in batch order.</summary>
    private static List<List<int>> ByUser(ReadOnlySpan<int> batch, int[] userOf)
    {
        var index = new Dictionary<int, int>();
        var groups = new List<List<int>>();
        foreach (int t in batch)
        {
            int u = userOf[t];
            if (!index.TryGetValue(u, out int g)) { index[u] = g = groups.Count; groups.Add([]); }
            groups[g].Add(t);
        }
        return groups;
    }
}
