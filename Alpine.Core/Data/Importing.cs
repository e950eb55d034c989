namespace Alpine.Data;

/// <summary>What an importer wrote.</summary>
public sealed record ImportSummary(int Users, int Items, int Categories, int Impressions, int FeatureDim);

/// <summary>Reads <c>count</c> feature rows from <c>firstRow</c> of a source file into the front of <c>dest</c>.</summary>
internal delegate void FeatureRowReader(long firstRow, int count, float[] dest);

/// <summary>
/// Impressions as read from a source, before the dense remap: users are numbered in first-seen order
/// (<see cref="RawUsers"/> holds their raw ids) and items are rows of the source feature file.
/// </summary>
internal sealed class RawImpressions(int capacity)
{
    private readonly Dictionary<long, int> _userIndex = [];

    public InteractionLog Log { get; } = new(capacity);

    /// <summary>Sized for the CSVs given (a source row is ~40 bytes), to spare the log its doubling copies.</summary>
    public static RawImpressions ForFiles(params string[] csvPaths) =>
        new((int)Math.Min(csvPaths.Sum(p => File.Exists(p) ? new FileInfo(p).Length : 0) / 40 + 16, 1 << 28));
    public List<long> RawUsers { get; } = [];

    /// <summary>Refuses a source whose CSVs hold no data rows at all.</summary>
    public void EnsureNotEmpty(string trainCsv, string testCsv)
    {
        if (Log.Count == 0) throw new DataFormatException(trainCsv, $"no impressions in this file nor in {testCsv}; expected data rows after the header");
    }

    public int User(long raw)
    {
        if (!_userIndex.TryGetValue(raw, out int u))
        {
            u = RawUsers.Count;
            _userIndex.Add(raw, u);
            RawUsers.Add(raw);
        }
        return u;
    }
}

/// <summary>
/// The part of every importer after parsing: remap ids densely and write the native folder.
/// Dense user ids follow ascending raw ids; dense item ids follow the order of the source feature rows,
/// so the features stream from source to <c>items.npy</c> in one forward pass (SPEC D18) and items no
/// impression refers to are dropped.
/// </summary>
internal static class Importing
{
    private const int ChunkRows = 8192;

    public static ImportSummary WriteFolder(
        string tmpDir, RawImpressions raw, long sourceRows, int cols, FeatureRowReader readRows, string featurePath,
        int[]? categoryOfRow, Action<string>? progress, CancellationToken ct = default)
    {
        var log = raw.Log;

        // users: rank of each first-seen user among the raw ids
        long[] rawUsers = [.. raw.RawUsers];
        int[] order = [.. Enumerable.Range(0, rawUsers.Length)];
        Array.Sort(rawUsers, order);
        var userDense = new int[order.Length];
        for (int rank = 0; rank < order.Length; rank++) userDense[order[rank]] = rank;

        // items: the feature rows in use, ascending
        int[] usedRows = SortedDistinct(log.Items);

        var dense = new InteractionLog(log.Count);
        var users = log.Users; var items = log.Items; var ts = log.Timestamps; var splits = log.Splits;
        for (int i = 0; i < log.Count; i++)
        {
            int item = Array.BinarySearch(usedRows, items[i]);
            dense.Add(userDense[users[i]], item, ts[i], log.Click(i), log.Like(i), log.Follow(i), splits[i]);
        }
        progress?.Invoke($"writing {NativeFormat.InteractionsFile} ({dense.Count} impressions, {order.Length} users)");
        NativeFormat.WriteInteractions(Path.Combine(tmpDir, NativeFormat.InteractionsFile), dense);

        int categories = 0;
        if (categoryOfRow is not null)
        {
            var catOfItem = new int[usedRows.Length];
            for (int i = 0; i < usedRows.Length; i++) catOfItem[i] = categoryOfRow[usedRows[i]];
            int[] cats = SortedDistinct(catOfItem);
            for (int i = 0; i < catOfItem.Length; i++) catOfItem[i] = Array.BinarySearch(cats, catOfItem[i]);
            categories = cats.Length;
            NativeFormat.WriteCategories(Path.Combine(tmpDir, NativeFormat.CategoriesFile), catOfItem);
        }

        progress?.Invoke($"writing {NativeFormat.ItemsFile} ({usedRows.Length} of {sourceRows} items, {cols}-d)");
        CopyRows(Path.Combine(tmpDir, NativeFormat.ItemsFile), usedRows, sourceRows, cols, readRows, featurePath, ct);
        return new ImportSummary(order.Length, usedRows.Length, categories, dense.Count, cols);
    }

    /// <summary>The distinct values, ascending.</summary>
    public static int[] SortedDistinct(ReadOnlySpan<int> values)
    {
        int[] a = values.ToArray();
        Array.Sort(a);
        int n = 0;
        for (int i = 0; i < a.Length; i++)
            if (n == 0 || a[i] != a[n - 1]) a[n++] = a[i];
        Array.Resize(ref a, n);
        return a;
    }

    /// <summary>
    /// Copies the source rows <paramref name="usedRows"/> (ascending) into a new <c>.npy</c>, reading the source
    /// chunk by chunk and skipping chunks nobody uses; refuses values training cannot use (<see cref="FeatureCheck"/>), naming the source row.
    /// </summary>
    private static void CopyRows(string outPath, int[] usedRows, long sourceRows, int cols, FeatureRowReader readRows, string sourcePath, CancellationToken ct)
    {
        var buf = new float[ChunkRows * cols];
        using var w = NpyFile.Create(outPath, usedRows.Length, cols);
        int u = 0;
        while (u < usedRows.Length)
        {
            ct.ThrowIfCancellationRequested();
            long first = usedRows[u] / ChunkRows * (long)ChunkRows;
            int n = (int)Math.Min(ChunkRows, sourceRows - first);
            readRows(first, n, buf);
            for (; u < usedRows.Length && usedRows[u] < first + n; u++)
            {
                var row = buf.AsSpan((int)(usedRows[u] - first) * cols, cols);
                if (FeatureCheck.Problem(row, cols, usedRows[u]) is { } problem) throw new DataFormatException(sourcePath, problem);
                w.WriteRows(row);
            }
        }
        w.Complete();
    }
}
