using System.Globalization;
using System.Text;

namespace Alpine.Data;

/// <summary>
/// The native data folder (SPEC D16): <c>interactions.csv</c> with header
/// <c>user_id,item_id,timestamp,click,like,follow[,split]</c>, <c>items.npy</c> (float32 [items, d]) and,
/// for the thacil profile, <c>item_categories.csv</c> (<c>item_id,category_id</c>).
/// </summary>
public static partial class NativeFormat
{
    public const string InteractionsFile = "interactions.csv";
    public const string ItemsFile = "items.npy";
    public const string CategoriesFile = "item_categories.csv";
    /// <summary>The prepared cache <c>alpine prepare</c> writes beside the data (Prep's <c>PreparedData.CacheFile</c>).</summary>
    public const string PreparedCacheFile = "prepared.alpc";

    /// <summary>Writes <c>interactions.csv</c>; the split column is written when the log carries a split.</summary>
    public static void WriteInteractions(string path, InteractionLog log)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        w.Write(log.HasSplit ? "user_id,item_id,timestamp,click,like,follow,split\n" : "user_id,item_id,timestamp,click,like,follow\n");
        var users = log.Users; var items = log.Items; var ts = log.Timestamps; var splits = log.Splits;
        Span<char> buf = stackalloc char[96];
        for (int i = 0; i < log.Count; i++)
        {
            int n = 0;
            users[i].TryFormat(buf, out int k, default, CultureInfo.InvariantCulture); n += k; buf[n++] = ',';
            items[i].TryFormat(buf[n..], out k, default, CultureInfo.InvariantCulture); n += k; buf[n++] = ',';
            ts[i].TryFormat(buf[n..], out k, default, CultureInfo.InvariantCulture); n += k; buf[n++] = ',';
            buf[n++] = log.Click(i) ? '1' : '0'; buf[n++] = ',';
            buf[n++] = log.Like(i) ? '1' : '0'; buf[n++] = ',';
            buf[n++] = log.Follow(i) ? '1' : '0';
            if (log.HasSplit)
            {
                buf[n++] = ',';
                string s = splits[i] == SplitPart.Test ? "test" : "train";
                s.CopyTo(buf[n..]); n += s.Length;
            }
            buf[n++] = '\n';
            w.Write(buf[..n]);
        }
    }

    /// <summary>Writes <c>item_categories.csv</c>: one row per item, in item order.</summary>
    public static void WriteCategories(string path, ReadOnlySpan<int> categoryOfItem)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        w.Write("item_id,category_id\n");
        for (int i = 0; i < categoryOfItem.Length; i++)
        {
            w.Write(i.ToString(CultureInfo.InvariantCulture));
            w.Write(',');
            w.Write(categoryOfItem[i].ToString(CultureInfo.InvariantCulture));
            w.Write('\n');
        }
    }
}
