using Alpine.Data;

namespace Alpine.Prep;

/// <summary>
/// One kind of per-user sequence (clicks or not-clicks) in CSR form: user u's sequence is
/// <c>Item[Offsets[u]..Offsets[u+1])</c>, chronological; <c>HistEnd[p]</c> for each impression p
/// (grouped order) is the length of the prefix of its user's sequence that lies strictly before p's timestamp.
/// </summary>
public sealed record UserSequences(int[] Offsets, int[] Item, int[] HistEnd);

/// <summary>
/// Click / not-click sequences, history windows and like/follow lists (SPEC D2). Input is the impressions
/// grouped by user in chronological order (<see cref="Splitter"/>).
/// </summary>
public static class Sequences
{
    /// <summary>
    /// Builds the sequence of impressions whose click flag equals <paramref name="clicked"/>, for all users
    /// and all parts (train and test alike: the history of a test target includes earlier test impressions,
    /// as in the reference code), and each impression's history end: the number of that user's sequence
    /// items with timestamp strictly before the impression's own timestamp. Impressions sharing one
    /// timestamp therefore never see each other.
    /// </summary>
    public static UserSequences Build(ReadOnlySpan<int> userOffsets, ReadOnlySpan<int> item, ReadOnlySpan<long> timestamp,
        ReadOnlySpan<byte> flags, bool clicked)
    {
        int users = userOffsets.Length - 1, n = item.Length;
        var offsets = new int[users + 1];
        int total = 0;
        for (int p = 0; p < n; p++) if (IsClick(flags[p]) == clicked) total++;
        var seq = new int[total];
        var histEnd = new int[n];
        var histEndSpan = histEnd.AsSpan();
        int w = 0;
        for (int u = 0; u < users; u++)
        {
            int a = userOffsets[u], b = userOffsets[u + 1];
            offsets[u] = w;
            for (int s = a; s < b;)
            {
                // A run of equal timestamps: all of it sees only what came strictly before the run.
                int e = s + 1;
                while (e < b && timestamp[e] == timestamp[s]) e++;
                System.Diagnostics.Debug.Assert(e == b || timestamp[e] > timestamp[s], "impressions must be chronological");
                histEndSpan[s..e].Fill(w - offsets[u]);
                for (int p = s; p < e; p++) if (IsClick(flags[p]) == clicked) seq[w++] = item[p];
                s = e;
            }
        }
        offsets[users] = w;
        return new UserSequences(offsets, seq, histEnd);
    }

    /// <summary>
    /// The attention window of a target (SPEC D2): positions <c>[max(0, histEnd − W), histEnd)</c> of its
    /// user's sequence, i.e. the ≤ W most recent items strictly before the target.
    /// </summary>
    public static (int Start, int End) Window(int histEnd, int window) => (Math.Max(0, histEnd - window), histEnd);

    /// <summary>
    /// Per user, the items liked and followed in the train part (SPEC D2, D9), chronological, one entry per
    /// liked (followed) impression. Only <see cref="SplitPart.Train"/> counts: the validation tail is left
    /// out like the test part, so validation scores see no like/follow from their own period (a like implies
    /// a click, so it would leak the label).
    /// </summary>
    public static LikeFollowLists LikesFollows(ReadOnlySpan<int> userOffsets, ReadOnlySpan<int> item,
        ReadOnlySpan<byte> flags, ReadOnlySpan<SplitPart> part)
    {
        var (lo, li) = TrainListOf(userOffsets, item, flags, part, InteractionLog.LikeFlag);
        var (fo, fi) = TrainListOf(userOffsets, item, flags, part, InteractionLog.FollowFlag);
        return new LikeFollowLists(lo, li, fo, fi);
    }

    private static (int[] Offsets, int[] Items) TrainListOf(ReadOnlySpan<int> userOffsets, ReadOnlySpan<int> item,
        ReadOnlySpan<byte> flags, ReadOnlySpan<SplitPart> part, byte flag)
    {
        int users = userOffsets.Length - 1;
        var offsets = new int[users + 1];
        var items = new List<int>();
        for (int u = 0; u < users; u++)
        {
            offsets[u] = items.Count;
            for (int p = userOffsets[u]; p < userOffsets[u + 1]; p++)
                if (part[p] == SplitPart.Train && (flags[p] & flag) != 0) items.Add(item[p]);
        }
        offsets[users] = items.Count;
        return (offsets, items.ToArray());
    }

    private static bool IsClick(byte flags) => (flags & InteractionLog.ClickFlag) != 0;
}
