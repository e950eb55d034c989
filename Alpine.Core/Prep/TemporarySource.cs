using System.Globalization;
using Alpine.Data;

namespace Alpine.Prep;

// TEMPORARY stand-in for Data.DataFolder (branch `data`), same member names; deleted when it merges.
public sealed class DataFolder
{
    public required string Dir { get; init; }
    public string InteractionsPath => Path.Combine(Dir, NativeFormat.InteractionsFile);
    public string ItemsPath => Path.Combine(Dir, NativeFormat.ItemsFile);
    public string? CategoriesPath => File.Exists(Path.Combine(Dir, NativeFormat.CategoriesFile)) ? Path.Combine(Dir, NativeFormat.CategoriesFile) : null;
    public Model.Profile Profile => CategoriesPath is null ? Model.Profile.Kuaishou : Model.Profile.Thacil;
    public int ItemCount { get { using var r = OpenFeatures(); return (int)r.Rows; } }

    public static DataFolder Open(string dir)
    {
        if (!Directory.Exists(dir)) throw new DataFormatException(dir, "no such data folder");
        return new DataFolder { Dir = dir };
    }

    public NpyReader OpenFeatures() => NpyFile.OpenRead(ItemsPath);

    public InteractionLog LoadLog()
    {
        var log = new InteractionLog();
        foreach (var line in File.ReadLines(InteractionsPath).Skip(1))
        {
            var f = line.Split(',');
            var split = f.Length > 6 ? (f[6] == "test" ? SplitPart.Test : SplitPart.Train) : SplitPart.None;
            log.Add(int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture), f[3] == "1", f[4] == "1", f[5] == "1", split);
        }
        return log;
    }

    public int[]? LoadCategories() => CategoriesPath is null ? null
        : File.ReadLines(CategoriesPath).Skip(1).Select(l => int.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
}
