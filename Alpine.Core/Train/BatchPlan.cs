using Alpine.Model;

namespace Alpine.Train;

/// <summary>
/// Which targets go into which batch. Both modes use one plan, so they train the same model on the same
/// batches and differ only in how the LSTM work is laid out (SPEC D12). A user's targets (chronological)
/// are cut into pieces of at most <c>pieceSize</c>; pieces are shuffled (training) and packed into batches
/// of at most <c>batchSize</c> targets. Keeping a piece whole is what lets SharedPrefix encode a user's
/// prefix once for many targets; cutting long users into pieces keeps a batch from being one user.
/// </summary>
public static class BatchPlan
{
    /// <summary>The batches of one training epoch: a shuffle that depends only on (seed, epoch) (SPEC D13).</summary>
    public static int[][] ForEpoch(ReadOnlySpan<int> targets, int[] userOf, int batchSize, int pieceSize, int seed, int epoch)
    {
        var pieces = Pieces(targets, userOf, Math.Min(pieceSize, batchSize));
        // Fisher–Yates with a stream keyed by (seed, epoch): epoch e's order never depends on how we got there,
        // so a resumed run shuffles exactly as an uninterrupted one.
        var rng = new SplitMix64(((ulong)(uint)seed << 32 | (uint)epoch) ^ 0x5EEDBA7C4E5UL);
        for (int i = pieces.Count - 1; i > 0; i--)
        {
            int j = (int)(rng.Next() % (ulong)(i + 1));
            (pieces[i], pieces[j]) = (pieces[j], pieces[i]);
        }
        return Pack(pieces, batchSize);
    }

    /// <summary>Scoring batches in position order: each user's targets whole where they fit one batch.</summary>
    public static int[][] ForScoring(ReadOnlySpan<int> targets, int[] userOf, int batchSize) =>
        Pack(Pieces(targets, userOf, batchSize), batchSize);

    /// <summary>Consecutive runs of one user, cut every <paramref name="pieceSize"/> targets.</summary>
    private static List<int[]> Pieces(ReadOnlySpan<int> targets, int[] userOf, int pieceSize)
    {
        var pieces = new List<int[]>();
        for (int a = 0; a < targets.Length;)
        {
            int b = a + 1;
            while (b < targets.Length && b - a < pieceSize && userOf[targets[b]] == userOf[targets[a]]) b++;
            pieces.Add(targets[a..b].ToArray());
            a = b;
        }
        return pieces;
    }

    private static int[][] Pack(List<int[]> pieces, int batchSize)
    {
        var batches = new List<int[]>();
        var current = new List<int>();
        foreach (var piece in pieces)
        {
            if (current.Count + piece.Length > batchSize) { batches.Add([.. current]); current.Clear(); }
            current.AddRange(piece);
        }
        if (current.Count > 0) batches.Add([.. current]);
        return [.. batches];
    }
}
