namespace Alpine.Data;

/// <summary>
/// Imports THACIL's MicroVideo-1.7M (Dataset II, SPEC D16): one CSV per split with
/// <c>user_id,item_id,cate_id,is_click,timestamp</c> and a float32 <c>.npy</c> of cover-image features
/// (512-d in the release) whose row <c>i</c> belongs to item id <c>i</c>. The source has no likes or follows.
/// </summary>
public static class ThacilImporter
{
    public const string Header = "user_id,item_id,cate_id,is_click,timestamp";

    /// <summary>Writes the native folder <paramref name="outDir"/> atomically (nothing is left behind on error or when <paramref name="ct"/> is cancelled).</summary>
    public static ImportSummary Import(string trainCsv, string testCsv, string featuresNpy, string outDir,
        bool overwrite = false, Action<string>? progress = null, CancellationToken ct = default)
    {
        ImportSummary? summary = null;
        DataFolder.WriteAtomically(outDir, overwrite, tmp =>
        {
            if (!File.Exists(featuresNpy)) throw new DataFormatException(featuresNpy, "no such file");
            // Only the header is read here; rows stream through in chunks when items.npy is written (SPEC D18).
            using var npy = NpyFile.OpenRead(featuresNpy);
            if (npy.Rows > int.MaxValue) throw new DataFormatException(featuresNpy, $"{npy.Rows} rows; at most {int.MaxValue} items are supported");
            var categoryOfRow = new int[npy.Rows];
            Array.Fill(categoryOfRow, -1);
            var raw = RawImpressions.ForFiles(trainCsv, testCsv);
            ReadImpressions(trainCsv, SplitPart.Train, (int)npy.Rows, categoryOfRow, raw, progress, ct);
            ReadImpressions(testCsv, SplitPart.Test, (int)npy.Rows, categoryOfRow, raw, progress, ct);
            raw.EnsureNotEmpty(trainCsv, testCsv);
            summary = Importing.WriteFolder(tmp, raw, npy.Rows, npy.Cols,
                (first, count, dest) => npy.ReadRows(first, dest.AsSpan(0, count * npy.Cols)),
                featuresNpy, categoryOfRow, progress, ct);
        });
        return summary!;
    }

    private static void ReadImpressions(string path, SplitPart split, int featureRows, int[] categoryOfRow,
        RawImpressions raw, Action<string>? progress, CancellationToken ct)
    {
        progress?.Invoke($"reading {path}");
        using var csv = new CsvLines(path, ct);
        csv.ReadHeader(Header);
        while (csv.TryReadLine(out var line))
        {
            var row = csv.Row(line);
            long user = row.NonNegative("user_id", long.MaxValue);
            int item = row.Id("item_id");
            int cat = row.Id("cate_id");
            bool click = row.Bit("is_click");
            long ts = row.Long("timestamp");
            if (item >= featureRows)
                throw csv.Error($"item_id {item} is beyond the feature rows; expected < {featureRows} (the rows of the features .npy)");
            if (categoryOfRow[item] < 0) categoryOfRow[item] = cat;
            else if (categoryOfRow[item] != cat)
                throw csv.Error($"item_id {item} has cate_id {cat} here but {categoryOfRow[item]} on an earlier row; expected one category per item");
            if (raw.Log.Count == InteractionLog.MaxCount) throw NativeFormat.TooManyRows(csv);
            raw.Log.Add(raw.User(user), item, ts, click, false, false, split);
        }
    }
}
