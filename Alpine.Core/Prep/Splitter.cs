using System.Diagnostics;
using Alpine.Data;

namespace Alpine.Prep;

/// <summary>
/// Impressions grouped by user, each user's in chronological order, with the part each belongs to.
/// Position p (0-based over all users) is log row <c>Order[p]</c>; user u owns positions
/// <c>[UserOffsets[u], UserOffsets[u+1])</c>.
/// </summary>
public sealed record SplitResult(int[] UserOffsets, int[] Order, SplitPart[] Part)
{
    public int UserCount => UserOffsets.Length - 1;
}

/// <summary>
/// The per-user chronological split (SPEC D1, paper 4.1).
/// <list type="bullet">
/// <item>Each user's impressions are sorted by (timestamp, input order), so equal timestamps keep the
/// order the log gave them.</item>
/// <item>Without a split in the source: the first <c>n_train = floor(0.8·n)</c> = <c>(4·n) / 5</c>
/// (integer division) impressions of a user with n impressions are train, the rest test. A user with
/// one impression therefore has no train part (floor(0.8) = 0).</item>
/// <item>With a split in the source (<see cref="InteractionLog.HasSplit"/>) the source's train/test
/// label of every row wins.</item>
/// <item>Validation: the last <c>n_val = floor(0.1·n_train)</c> = <c>n_train / 10</c> (integer division)
/// train impressions of each user in chronological order become <see cref="SplitPart.Validation"/>; so
/// users with fewer than 10 train impressions have no validation part.</item>
/// </list>
/// Integer arithmetic keeps the rounding exact (0.8·n in floating point is not always exact).
/// A user id without impressions gets an empty range; the native reader refuses such gaps
/// (<see cref="DataFolder.LoadLog"/>), so from files every user has impressions.
/// </summary>
public static class Splitter
{
    public static SplitResult Split(InteractionLog log)
    {
        // One offset per user id: an id near int.MaxValue cannot be laid out (DataFolder.LoadLog refuses it first).
        if (log.UserCount >= Array.MaxLength)
            throw new ArgumentException($"user id {log.MaxUserId} is too large to lay out one offset per user id; ids must be dense", nameof(log));
        var users = log.Users;
        var ts = log.Timestamps;
        int n = log.Count, userCount = (int)log.UserCount;

        // Counting sort by user keeps input order within a user (stable).
        var offsets = new int[userCount + 1];
        foreach (int u in users) offsets[u + 1]++;
        for (int u = 0; u < userCount; u++) offsets[u + 1] += offsets[u];
        var order = new int[n];
        var fill = offsets.AsSpan(0, userCount).ToArray();
        for (int i = 0; i < n; i++) order[fill[users[i]]++] = i;

        // Within a user: by timestamp, ties by input order (the unstable key sort is repaired run by run).
        var keys = new long[n];
        for (int p = 0; p < n; p++) keys[p] = ts[order[p]];
        for (int u = 0; u < userCount; u++)
        {
            int a = offsets[u], b = offsets[u + 1];
            if (b - a < 2 || IsSorted(keys.AsSpan(a, b - a))) continue;
            keys.AsSpan(a, b - a).Sort(order.AsSpan(a, b - a));
            for (int s = a; s < b;)
            {
                int e = s + 1;
                while (e < b && keys[e] == keys[s]) e++;
                if (e - s > 1) order.AsSpan(s, e - s).Sort();
                s = e;
            }
        }

        var part = new SplitPart[n];
        var splits = log.Splits;
        for (int u = 0; u < userCount; u++)
        {
            int a = offsets[u], b = offsets[u + 1];
            if (log.HasSplit)
            {
                for (int p = a; p < b; p++)
                {
                    var s = splits[order[p]];
                    if (s is not (SplitPart.Train or SplitPart.Test))
                        throw new ArgumentException($"log row {order[p]} has split '{s}' while the log carries a split; expected train or test for every row", nameof(log));
                    part[p] = s;
                }
            }
            else
            {
                int nTrain = 4 * (b - a) / 5;
                part.AsSpan(a, nTrain).Fill(SplitPart.Train);
                part.AsSpan(a + nTrain, b - a - nTrain).Fill(SplitPart.Test);
            }
            MarkValidation(part.AsSpan(a, b - a));
        }
        return new SplitResult(offsets, order, part);
    }

    /// <summary>Turns the last floor(0.1·n_train) train impressions of one user (chronological) into validation.</summary>
    private static void MarkValidation(Span<SplitPart> userPart)
    {
        int nTrain = 0;
        foreach (var s in userPart) if (s == SplitPart.Train) nTrain++;
        int nVal = nTrain / 10;
        for (int p = userPart.Length - 1; p >= 0 && nVal > 0; p--)
            if (userPart[p] == SplitPart.Train) { userPart[p] = SplitPart.Validation; nVal--; }
        Debug.Assert(nVal == 0);
    }

    private static bool IsSorted(ReadOnlySpan<long> k)
    {
        for (int i = 1; i < k.Length; i++) if (k[i] < k[i - 1]) return false;
        return true;
    }
}
