using Alpine.Model;

namespace Alpine.Train;

/// <summary>
/// Which targets go into which batch (SPEC "Batch composition"). Both modes use one plan, so they train the same
/// model on the same batches and differ only in how the LSTM work is laid out (SPEC D12). Each user's targets
/// are cut into pieces of at most <c>pieceSize</c>; pieces are shuffled and packed into batches of at most
/// <c>batchSize</c> targets, so a batch holds about batchSize / pieceSize users. A piece is either a
/// chronological run of the user's targets (<see cref="PieceOrder.Chronological"/>) or a random draw across the
/// user's whole history (<see cref="PieceOrder.Scattered"/>); pieces of 1 are targets drawn at random across all
/// users. What a piece costs in SharedPrefix is the prefix up to its latest target, encoded once for the piece:
/// a chronological piece costs that run's end, a scattered one about the user's whole sequence.
/// </summary>
public static class BatchPlan
{
    /// <summary>The batches of one training epoch: a shuffle that depends only on (seed, epoch) (SPEC D13).</summary>
    public static int[][] ForEpoch(ReadOnlySpan<int> targets, int[] userOf, int batchSize, int pieceSize, int seed, int epoch,
        PieceOrder order = PieceOrder.Chronological) =>
        Pack(ShuffledPieces(targets, userOf, Math.Min(pieceSize, batchSize), order, seed, epoch), batchSize);

    /// <summary>
    /// The epoch's pieces in the order they are packed. Every random choice draws from streams keyed by
    /// (seed, epoch): epoch e's plan never depends on how we got there, so a resumed run shuffles exactly as an
    /// uninterrupted one.
    /// </summary>
    internal static List<int[]> ShuffledPieces(ReadOnlySpan<int> targets, int[] userOf, int pieceSize, PieceOrder order, int seed, int epoch)
    {
        var pieces = order == PieceOrder.Scattered && pieceSize > 1
            ? ScatteredPieces(targets, userOf, pieceSize, new SplitMix64(Key(seed, epoch) ^ 0x5CA77E4EDUL))
            : Pieces(targets, userOf, pieceSize);
        var rng = new SplitMix64(Key(seed, epoch) ^ 0x5EEDBA7C4E5UL);
        Shuffle(pieces, ref rng);
        return pieces;
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

    /// <summary>Each user's targets shuffled, cut every <paramref name="pieceSize"/>, each piece back in position order.</summary>
    private static List<int[]> ScatteredPieces(ReadOnlySpan<int> targets, int[] userOf, int pieceSize, SplitMix64 rng)
    {
        var pieces = new List<int[]>();
        for (int a = 0; a < targets.Length;)
        {
            int b = a + 1;
            while (b < targets.Length && userOf[targets[b]] == userOf[targets[a]]) b++;
            var user = targets[a..b].ToArray();
            Shuffle(user, ref rng);
            for (int s = 0; s < user.Length; s += pieceSize)
            {
                int[] piece = user[s..Math.Min(user.Length, s + pieceSize)];
                Array.Sort(piece);
                pieces.Add(piece);
            }
            a = b;
        }
        return pieces;
    }

    private static ulong Key(int seed, int epoch) => (ulong)(uint)seed << 32 | (uint)epoch;

    private static void Shuffle<T>(IList<T> a, ref SplitMix64 rng)
    {
        for (int i = a.Count - 1; i > 0; i--)
        {
            int j = (int)(rng.Next() % (ulong)(i + 1));
            (a[i], a[j]) = (a[j], a[i]);
        }
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
