using Alpine.Data;
using PureHDF;

namespace Alpine.Tests.Data;

/// <summary>Small source files in the KuaiVideo_x1 and THACIL formats, written by hand (a few KB).</summary>
internal static class ImportFixtures
{
    public const int KuaiDim = 64;

    /// <summary>Sparse, unsorted item ids of the .h5 'key' dataset; 13 is referenced by no impression.</summary>
    public static readonly long[] KuaiKeys = [105, 7, 13, 42, 900];

    /// <summary>Feature value of row r, column c of the .h5 'value' dataset.</summary>
    public static float KuaiValue(int r, int c) => r * 100 + c * 0.5f;

    public const string KuaiTrain =
        "timestamp,user_id,item_id,is_click,is_like,is_follow,pos_items,neg_items\n" +
        "100,55,42,1,1,0,7^105,\n" +
        "101,55,7,0,0,0,,900\n" +
        "102,3,900,1,0,1,42,\n";

    public const string KuaiTest =
        "timestamp,user_id,item_id,is_click,is_like,is_follow,pos_items,neg_items\r\n" +
        "200,3,105,0,0,0,,\r\n" +
        "201,55,42,1,0,0,7,105^900"; // CRLF and no trailing newline

    public static (string Train, string Test, string H5) WriteKuai(string dir, string? train = null, string? test = null,
        Func<int, int, float>? value = null, long[]? keys = null)
    {
        keys ??= KuaiKeys;
        value ??= KuaiValue;
        var v = new float[keys.Length, KuaiDim];
        for (int r = 0; r < keys.Length; r++)
            for (int c = 0; c < KuaiDim; c++) v[r, c] = value(r, c);
        return WriteKuaiRaw(dir, train ?? KuaiTrain, test ?? KuaiTest, new H5File { ["key"] = keys, ["value"] = v });
    }

    public static (string Train, string Test, string H5) WriteKuaiRaw(string dir, string train, string test, H5File h5)
    {
        string tr = Path.Combine(dir, "train.csv"), te = Path.Combine(dir, "test.csv"), h = Path.Combine(dir, "item_visual_emb_dim64.h5");
        File.WriteAllText(tr, train);
        File.WriteAllText(te, test);
        h5.Write(h);
        return (tr, te, h);
    }

    public const int ThacilRows = 6, ThacilDim = 8;

    /// <summary>Feature value of row r, column c of the THACIL .npy.</summary>
    public static float ThacilValue(int r, int c) => r * 10 + c;

    public const string ThacilTrain =
        "user_id,item_id,cate_id,is_click,timestamp\n" +
        "9,4,70,1,10\n" +
        "2,1,30,0,11\n" +
        "9,1,30,0,12\n";

    public const string ThacilTest =
        "user_id,item_id,cate_id,is_click,timestamp\n" +
        "2,5,70,1,20\n";

    public static (string Train, string Test, string Npy) WriteThacil(string dir, string? train = null, string? test = null,
        Func<int, int, float>? value = null)
    {
        value ??= ThacilValue;
        string tr = Path.Combine(dir, "train.csv"), te = Path.Combine(dir, "test.csv"), npy = Path.Combine(dir, "features.npy");
        File.WriteAllText(tr, train ?? ThacilTrain);
        File.WriteAllText(te, test ?? ThacilTest);
        WriteNpy(npy, ThacilRows, ThacilDim, value);
        return (tr, te, npy);
    }

    public static void WriteNpy(string path, int rows, int cols, Func<int, int, float> value)
    {
        var data = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) data[r * cols + c] = value(r, c);
        using var w = NpyFile.Create(path, rows, cols);
        w.WriteRows(data);
        w.Complete();
    }

    public static float[] ReadAll(string npyPath)
    {
        using var r = NpyFile.OpenRead(npyPath);
        var all = new float[r.Rows * r.Cols];
        r.ReadRows(0, all);
        return all;
    }

    /// <summary>Every impression of a log as a tuple, for whole-log comparisons.</summary>
    public static (int User, int Item, long Ts, bool Click, bool Like, bool Follow, SplitPart Split)[] Rows(InteractionLog log) =>
        [.. Enumerable.Range(0, log.Count).Select(i => (log.Users[i], log.Items[i], log.Timestamps[i], log.Click(i), log.Like(i), log.Follow(i), log.Splits[i]))];

    /// <summary>Cuts a file to <paramref name="keep"/> bytes.</summary>
    public static void Truncate(string path, long keep)
    {
        using var fs = new FileStream(path, FileMode.Open);
        fs.SetLength(keep);
    }
}
