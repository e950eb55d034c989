namespace Alpine.Data;

public static partial class NativeFormat
{
    public const string InteractionsHeader = "user_id,item_id,timestamp,click,like,follow";
    public const string InteractionsHeaderWithSplit = InteractionsHeader + ",split";
    public const string CategoriesHeader = "item_id,category_id";

    /// <summary>
    /// Reads <c>interactions.csv</c> (SPEC D16). Ids are dense 0-based; like/follow only on clicks;
    /// the optional <c>split</c> column holds <c>train</c> or <c>test</c> on every row.
    /// </summary>
    public static InteractionLog ReadInteractions(string path) => ReadInteractions(path, int.MaxValue);

    /// <summary>As <see cref="ReadInteractions(string)"/>, refusing item ids ≥ <paramref name="itemCount"/> (the feature rows).</summary>
    public static InteractionLog ReadInteractions(string path, int itemCount)
    {
        using var csv = new CsvLines(path);
        bool withSplit = csv.ReadHeader(InteractionsHeader, InteractionsHeaderWithSplit) == 1;
        // A row is ~20–30 bytes; guessing the count up front saves the log's doubling copies.
        var log = new InteractionLog((int)Math.Min(csv.Length / 24 + 16, 1 << 28));
        while (csv.TryReadLine(out var line))
        {
            var row = csv.Row(line);
            int user = row.Id("user_id");
            int item = row.Id("item_id");
            if (item >= itemCount)
                throw csv.Error($"item_id {item} is beyond the feature rows; expected < {itemCount} (items.npy has {itemCount} rows)");
            long ts = row.Long("timestamp");
            bool click = row.Bit("click"), like = row.Bit("like"), follow = row.Bit("follow");
            var split = SplitPart.None;
            if (withSplit) split = ParseSplit(csv, row.Next());
            if (!click && (like || follow)) throw NotClickedError(csv, like);
            if (log.Count == InteractionLog.MaxCount) throw TooManyRows(csv);
            log.Add(user, item, ts, click, like, follow, split);
        }
        return log;
    }

    /// <summary>Like or follow on an impression that was not clicked (SPEC: they only occur on clicks).</summary>
    internal static DataFormatException NotClickedError(CsvLines csv, bool like) =>
        csv.Error($"{(like ? "like" : "follow")} = 1 on a not-clicked impression; like and follow only occur on clicks");

    /// <summary>A log beyond what one array holds.</summary>
    internal static DataFormatException TooManyRows(CsvLines csv) =>
        csv.Error($"more than {InteractionLog.MaxCount:N0} impressions; at most that many are supported");

    private static SplitPart ParseSplit(CsvLines csv, ReadOnlySpan<byte> f)
    {
        if (f.SequenceEqual("train"u8)) return SplitPart.Train;
        if (f.SequenceEqual("test"u8)) return SplitPart.Test;
        throw csv.FieldError("split", f, "is not 'train' or 'test'");
    }

    /// <summary>
    /// Reads <c>item_categories.csv</c>: every item <c>0..itemCount-1</c> exactly once, in any order.
    /// Returns the category of each item.
    /// </summary>
    public static int[] ReadCategories(string path, int itemCount)
    {
        using var csv = new CsvLines(path);
        csv.ReadHeader(CategoriesHeader);
        var category = new int[itemCount];
        Array.Fill(category, -1);
        while (csv.TryReadLine(out var line))
        {
            var row = csv.Row(line);
            int item = row.Id("item_id");
            int cat = row.Id("category_id");
            if (item >= itemCount)
                throw csv.Error($"item_id {item} is beyond the feature rows; expected < {itemCount}");
            // Category ids size the category embedding: with one category per item, an id ≥ items cannot be dense.
            if (cat >= itemCount)
                throw csv.Error($"category_id {cat} is not dense: {itemCount} items have at most {itemCount} categories, so ids must be < {itemCount}; renumber them 0..categories-1");
            if (category[item] >= 0)
                throw csv.Error($"item_id {item} appears twice; expected each item exactly once");
            category[item] = cat;
        }
        int missing = Array.IndexOf(category, -1);
        if (missing >= 0)
            throw new DataFormatException(path, $"item {missing} has no row; expected each item 0..{itemCount - 1} exactly once");
        return category;
    }
}
