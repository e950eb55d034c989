using System.Diagnostics;

namespace Alpine.Eval;

/// <summary>
/// The metrics of one scored impression set (SPEC D14, D15). Each field says which users it averages over;
/// <c>docs/ARCHITECTURE.md</c> "Metrics" has the definitions.
/// </summary>
public sealed record MetricReport
{
    /// <summary>Impressions scored.</summary>
    public required int Impressions { get; init; }
    /// <summary>Users with at least one impression.</summary>
    public required int Users { get; init; }
    /// <summary>Paper Eq. 9: mean per-user AUC over users with ≥ 1 clicked and ≥ 1 not-clicked impression.</summary>
    public required double AucUser { get; init; }
    /// <summary>How many users <see cref="AucUser"/> and <see cref="GAuc"/> average over.</summary>
    public required int AucUsers { get; init; }
    /// <summary>AUC of all impressions pooled (NaN when they hold only one class).</summary>
    public required double AucGlobal { get; init; }
    /// <summary>Per-user AUC weighted by the user's impression count, over the same users as <see cref="AucUser"/>.</summary>
    public required double GAuc { get; init; }
    /// <summary>Mean binary cross-entropy of σ(logit) over all impressions.</summary>
    public required double LogLoss { get; init; }
    /// <summary>How many users P@K, R@K and F@K average over: users with ≥ 1 clicked impression.</summary>
    public required int ClickUsers { get; init; }
    public required int[] Ks { get; init; }
    /// <summary>P@K for each K of <see cref="Ks"/>, and likewise R@K and F@K.</summary>
    public required double[] Precision { get; init; }
    public required double[] Recall { get; init; }
    public required double[] F1 { get; init; }

    /// <summary>The index of K in <see cref="Ks"/>; throws when K was not computed.</summary>
    public int IndexOfK(int k)
    {
        int i = Array.IndexOf(Ks, k);
        return i >= 0 ? i : throw new ArgumentException($"K = {k} was not computed (have {string.Join(",", Ks)})", nameof(k));
    }
}

/// <summary>
/// Ranking and calibration metrics over scored impressions, grouped by user (SPEC D14, D15).
/// Scores are logits ŷ: they rank like p = σ(ŷ) but keep order where σ would round two scores to one float.
/// Per-user AUC is the Mann–Whitney statistic from mid-ranks of one sort, O(n log n): equal scores get
/// the mean of their ranks, which counts a tied (clicked, not-clicked) pair as ½ (paper Eq. 9 with ties ½).
/// </summary>
public static class Metrics
{
    /// <summary>K = 10, 20, …, 100 (SPEC D15).</summary>
    public static readonly int[] DefaultKs = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

    /// <summary>
    /// Computes every metric. <paramref name="users"/>, <paramref name="logits"/> and <paramref name="clicks"/>
    /// are parallel, one entry per impression, in impression order (chronological within a user): that order
    /// breaks ties at the top-K boundary, the earlier impression ranking first. <paramref name="userAuc"/>, when
    /// given, receives each AUC_user user's own AUC in ascending user order (what a paired test per user compares).
    /// </summary>
    public static MetricReport Compute(ReadOnlySpan<int> users, ReadOnlySpan<float> logits, ReadOnlySpan<bool> clicks, IReadOnlyList<int>? ks = null,
        Action<int, double>? userAuc = null)
    {
        if (users.Length != logits.Length || users.Length != clicks.Length)
            throw new ArgumentException($"users ({users.Length}), logits ({logits.Length}) and clicks ({clicks.Length}) must have one length");
        int[] kList = (ks ?? DefaultKs).ToArray();
        foreach (int k in kList) if (k < 1) throw new ArgumentException($"K must be at least 1, got {k}", nameof(ks));
        int n = users.Length;

        // Group impressions by user, keeping impression order inside a user (counting sort: stable).
        int userCount = 0;
        foreach (int u in users) { if (u < 0) throw new ArgumentException($"negative user id {u}"); userCount = Math.Max(userCount, u + 1); }
        var start = new int[userCount + 1];
        foreach (int u in users) start[u + 1]++;
        for (int u = 0; u < userCount; u++) start[u + 1] += start[u];
        var order = new int[n];
        var fill = start[..^1].ToArray();
        for (int i = 0; i < n; i++) order[fill[users[i]]++] = i;

        var scoreBuf = new float[n];
        var idxBuf = new int[n];
        double aucSum = 0, gAucSum = 0;
        long gAucWeight = 0;
        int aucUsers = 0, clickUsers = 0, activeUsers = 0;
        var pSum = new double[kList.Length];
        var rSum = new double[kList.Length];
        var fSum = new double[kList.Length];
        for (int u = 0; u < userCount; u++)
        {
            int s = start[u], len = start[u + 1] - s;
            if (len == 0) continue;
            activeUsers++;
            int pos = 0;
            for (int j = 0; j < len; j++) if (clicks[order[s + j]]) pos++;
            if (pos == 0) continue; // no clicked impression: excluded from every per-user metric

            // Rank descending by score, ties by impression order: sort (−score, impression index).
            var sc = scoreBuf.AsSpan(0, len);
            var ix = idxBuf.AsSpan(0, len);
            for (int j = 0; j < len; j++) { ix[j] = order[s + j]; sc[j] = -logits[ix[j]]; }
            SortByScoreThenIndex(sc, ix);

            clickUsers++;
            for (int q = 0; q < kList.Length; q++)
            {
                int k = kList[q], hits = 0;
                for (int j = 0; j < Math.Min(k, len); j++) if (clicks[ix[j]]) hits++;
                double p = (double)hits / k, r = (double)hits / pos;
                pSum[q] += p; rSum[q] += r;
                fSum[q] += p + r > 0 ? 2 * p * r / (p + r) : 0;
            }

            if (pos == len) continue; // no not-clicked impression: no pair to rank
            double auc = AucOfSorted(sc, ix, clicks, pos, len - pos);
            userAuc?.Invoke(u, auc);
            aucSum += auc; aucUsers++;
            gAucSum += auc * len; gAucWeight += len;
        }

        // Pooled AUC and LogLoss over every impression.
        var all = new float[n];
        var allIx = new int[n];
        int allPos = 0;
        double logLoss = 0;
        for (int i = 0; i < n; i++)
        {
            all[i] = -logits[i]; allIx[i] = i;
            if (clicks[i]) allPos++;
            logLoss += BceWithLogits(logits[i], clicks[i]);
        }
        SortByScoreThenIndex(all, allIx);
        double aucGlobal = allPos > 0 && allPos < n ? AucOfSorted(all, allIx, clicks, allPos, n - allPos) : double.NaN;

        return new MetricReport
        {
            Impressions = n,
            Users = activeUsers,
            AucUser = aucUsers > 0 ? aucSum / aucUsers : double.NaN,
            AucUsers = aucUsers,
            AucGlobal = aucGlobal,
            GAuc = gAucWeight > 0 ? gAucSum / gAucWeight : double.NaN,
            LogLoss = n > 0 ? logLoss / n : double.NaN,
            ClickUsers = clickUsers,
            Ks = kList,
            Precision = pSum.Select(x => clickUsers > 0 ? x / clickUsers : double.NaN).ToArray(),
            Recall = rSum.Select(x => clickUsers > 0 ? x / clickUsers : double.NaN).ToArray(),
            F1 = fSum.Select(x => clickUsers > 0 ? x / clickUsers : double.NaN).ToArray(),
        };
    }

    /// <summary>The stable form max(ŷ,0) − ŷ·y + log(1 + e^−|ŷ|).</summary>
    public static double BceWithLogits(float logit, bool click)
    {
        double z = logit;
        return Math.Max(z, 0) - (click ? z : 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
    }

    /// <summary>Sorts ascending by key, ties by index, so the result is one fixed order whatever the sort's stability.</summary>
    private static void SortByScoreThenIndex(Span<float> keys, Span<int> index)
    {
        keys.Sort(index);
        // Array.Sort is unstable: restore impression order inside each run of equal keys.
        for (int a = 0; a < keys.Length;)
        {
            int b = a + 1;
            while (b < keys.Length && keys[b] == keys[a]) b++;
            if (b - a > 1) index[a..b].Sort();
            a = b;
        }
    }

    /// <summary>
    /// AUC from a descending-score order (keys = −score, ascending): the Mann–Whitney U of the clicked set over
    /// mid-ranks, divided by pos·neg. Ascending rank r (1 = lowest score) of a run of equal scores is the run's mean.
    /// </summary>
    private static double AucOfSorted(ReadOnlySpan<float> negScores, ReadOnlySpan<int> index, ReadOnlySpan<bool> clicks, int pos, int neg)
    {
        int len = negScores.Length;
        Debug.Assert(pos + neg == len && pos > 0 && neg > 0);
        double rankSum = 0; // Σ ascending ranks of clicked impressions
        for (int a = 0; a < len;)
        {
            int b = a + 1;
            while (b < len && negScores[b] == negScores[a]) b++;
            // Descending positions a..b-1 are ascending ranks len-b+1 .. len-a; their mean:
            double midRank = (2.0 * len - a - b + 1) / 2;
            int c = 0;
            for (int j = a; j < b; j++) if (clicks[index[j]]) c++;
            rankSum += c * midRank;
            a = b;
        }
        double u = rankSum - pos * (pos + 1.0) / 2;
        return u / ((double)pos * neg);
    }
}
