namespace Alpine.Serving;

/// <summary>The k best scores of a list, without sorting all of it.</summary>
internal static class TopK
{
    /// <summary>Indexes of the min(k, n) largest of <paramref name="p"/>, largest first; equal scores in index order.</summary>
    public static int[] Best(ReadOnlySpan<float> p, int k)
    {
        k = Math.Min(k, p.Length);
        // A min-heap of the best k so far, its root the worst kept: (score, then the later index) is worse.
        var heap = new PriorityQueue<int, (float Score, int Index)>(k + 1, Worse.Instance);
        for (int i = 0; i < p.Length; i++)
        {
            if (heap.Count < k) heap.Enqueue(i, (p[i], i));
            else if (heap.TryPeek(out _, out var worst) && Worse.Instance.Compare((p[i], i), worst) > 0)
                heap.EnqueueDequeue(i, (p[i], i));
        }
        var best = new int[heap.Count];
        for (int j = best.Length - 1; j >= 0; j--) best[j] = heap.Dequeue();
        return best;
    }

    /// <summary>Orders worst first: lower score, then higher index.</summary>
    private sealed class Worse : IComparer<(float Score, int Index)>
    {
        public static readonly Worse Instance = new();
        public int Compare((float Score, int Index) a, (float Score, int Index) b) =>
            a.Score != b.Score ? a.Score.CompareTo(b.Score) : b.Index.CompareTo(a.Index);
    }
}
