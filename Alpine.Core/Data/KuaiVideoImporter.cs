using PureHDF;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace Alpine.Data;

/// <summary>
/// Imports KuaiVideo_x1, the authors' Dataset I split as published by the BARS benchmark (SPEC D16):
/// <c>train.csv</c> and <c>test.csv</c> (rows are impressions, the files are the split) and
/// <c>item_visual_emb_dim64.h5</c> (datasets <c>key</c>: item ids, <c>value</c>: float [n, 64]).
/// </summary>
public static class KuaiVideoImporter
{
    public const string Header = "timestamp,user_id,item_id,is_click,is_like,is_follow,pos_items,neg_items";

    /// <summary>Writes the native folder <paramref name="outDir"/> atomically (nothing is left behind on error or when <paramref name="ct"/> is cancelled).</summary>
    public static ImportSummary Import(string trainCsv, string testCsv, string h5Path, string outDir,
        bool overwrite = false, Action<string>? progress = null, CancellationToken ct = default)
    {
        ImportSummary? summary = null;
        DataFolder.WriteAtomically(outDir, overwrite, tmp =>
        {
            progress?.Invoke($"reading {h5Path}");
            using var h5 = H5Features.Open(h5Path);
            var raw = RawImpressions.ForFiles(trainCsv, testCsv);
            ReadImpressions(trainCsv, SplitPart.Train, h5, raw, progress, ct);
            ReadImpressions(testCsv, SplitPart.Test, h5, raw, progress, ct);
            raw.EnsureNotEmpty(trainCsv, testCsv);
            summary = Importing.WriteFolder(tmp, raw, h5.Rows, h5.Cols, h5.ReadRows, h5Path, null, progress, ct);
        });
        return summary!;
    }

    private static void ReadImpressions(string path, SplitPart split, H5Features h5, RawImpressions raw, Action<string>? progress, CancellationToken ct)
    {
        progress?.Invoke($"reading {path}");
        using var csv = new CsvLines(path, ct);
        csv.ReadHeader(Header);
        while (csv.TryReadLine(out var line))
        {
            var row = csv.Row(line);
            long ts = row.Long("timestamp");
            long user = row.NonNegative("user_id", long.MaxValue);
            long item = row.NonNegative("item_id", long.MaxValue);
            bool click = row.Bit("is_click"), like = row.Bit("is_like"), follow = row.Bit("is_follow");
            row.Next(); // pos_items and neg_items: '^'-joined histories of the BARS split, not impressions
            row.Next();
            if (!click && (like || follow)) throw NativeFormat.NotClickedError(csv, like);
            int featureRow = h5.RowOf(item);
            if (featureRow < 0)
                throw csv.Error($"item_id {item} is not in the 'key' dataset of {h5.Path}; expected an item with visual features");
            if (raw.Log.Count == InteractionLog.MaxCount) throw NativeFormat.TooManyRows(csv);
            raw.Log.Add(raw.User(user), featureRow, ts, click, like, follow, split);
        }
    }

    /// <summary>The <c>key</c>/<c>value</c> datasets of the features file; <c>value</c> is read in row slabs.</summary>
    private sealed class H5Features : IDisposable
    {
        private readonly NativeFile _file;
        private readonly IH5Dataset _value;
        private readonly bool _double;
        private long[] _sortedKeys = [];
        private int[] _rowOfSortedKey = [];

        public string Path { get; }
        public long Rows { get; private set; }
        public int Cols { get; private set; }

        private H5Features(string path, NativeFile file, IH5Dataset value, bool isDouble)
        {
            Path = path; _file = file; _value = value; _double = isDouble;
        }

        public static H5Features Open(string path)
        {
            if (!File.Exists(path)) throw new DataFormatException(path, "no such file");
            if (new FileInfo(path).Length == 0) throw new DataFormatException(path, "the file is empty; expected an HDF5 file with datasets 'key' and 'value'");
            CheckNotTruncated(path);
            NativeFile file = Guard(path, () => H5File.OpenRead(path));
            try
            {
                var (key, value) = Guard(path, () => (Dataset(file, path, "key"), Dataset(file, path, "value")));
                ulong[] kd = key.Space.Dimensions, vd = value.Space.Dimensions;
                if (kd.Length != 1) throw new DataFormatException(path, $"'key' has rank {kd.Length}; expected a 1-d list of item ids");
                if (vd.Length != 2 || vd[1] == 0 || vd[1] > 1 << 20)
                    throw new DataFormatException(path, $"'value' has shape ({string.Join(", ", vd)}); expected a 2-d matrix (items, dims)");
                if (vd[0] != kd[0])
                    throw new DataFormatException(path, $"'value' has {vd[0]} rows but 'key' has {kd[0]} ids; expected one feature row per key");
                if (kd[0] > int.MaxValue) throw new DataFormatException(path, $"{kd[0]} items; at most {int.MaxValue} are supported");
                if (key.Type.Class != H5DataTypeClass.FixedPoint || key.Type.Size is not (4 or 8))
                    throw new DataFormatException(path, $"'key' holds {key.Type.Class} of {key.Type.Size} bytes; expected 32- or 64-bit integer item ids");
                if (value.Type.Class != H5DataTypeClass.FloatingPoint || value.Type.Size is not (4 or 8))
                    throw new DataFormatException(path, $"'value' holds {value.Type.Class} of {value.Type.Size} bytes; expected float32 features");

                var f = new H5Features(path, file, value, value.Type.Size == 8) { Rows = (long)vd[0], Cols = (int)vd[1] };
                f.ReadKeys(key);
                return f;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Compares the file size with the end-of-file address in the HDF5 superblock. PureHDF reads a cut file
        /// without complaint when the cut misses what it reads, or reports a missing dataset, so a truncated
        /// download is caught here by name.
        /// </summary>
        private static void CheckNotTruncated(string path)
        {
            ReadOnlySpan<byte> signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a];
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            Span<byte> sb = stackalloc byte[64];
            // The superblock sits at 0 or, after a user block, at 512, 1024, 2048, … (HDF5 format spec, "Superblock").
            for (long at = 0; at + signature.Length <= fs.Length; at = at == 0 ? 512 : at * 2)
            {
                fs.Position = at;
                int got = fs.ReadAtLeast(sb, sb.Length, throwOnEndOfStream: false);
                if (got < signature.Length || !sb[..signature.Length].SequenceEqual(signature)) continue;
                int version = got > 8 ? sb[8] : -1;
                int offsetSize = version switch { 0 => got > 13 ? sb[13] : 0, 1 => got > 13 ? sb[13] : 0, 2 or 3 => got > 9 ? sb[9] : 0, _ => 0 };
                if (offsetSize is not (2 or 4 or 8))
                    throw new DataFormatException(path, $"truncated or damaged HDF5 superblock (version {version}) at byte {at}");
                // v0/v1: base, free-space, end-of-file addresses follow 24 (v0) or 28 (v1) bytes; v2/v3: base, extension, end-of-file after 12.
                int baseAt = version switch { 0 => 24, 1 => 28, _ => 12 };
                int eofAt = baseAt + 2 * offsetSize;
                if (got < eofAt + offsetSize) throw new DataFormatException(path, $"truncated: the file ends inside its HDF5 superblock ({fs.Length} bytes)");
                ulong baseAddress = ReadAddress(sb[baseAt..], offsetSize), eof = ReadAddress(sb[eofAt..], offsetSize);
                if (baseAddress + eof > (ulong)fs.Length)
                    throw new DataFormatException(path, $"truncated: the HDF5 superblock says {baseAddress + eof} bytes but the file has {fs.Length}");
                return;
            }
            throw new DataFormatException(path, "not an HDF5 file (no HDF5 signature found); expected datasets 'key' and 'value'");
        }

        private static ulong ReadAddress(ReadOnlySpan<byte> b, int size) => size switch
        {
            2 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b),
            4 => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b),
            _ => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b),
        };

        private static IH5Dataset Dataset(NativeFile file, string path, string name) =>
            file.LinkExists(name) ? file.Dataset(name) : throw new DataFormatException(path, $"no dataset '{name}'; expected datasets 'key' (item ids) and 'value' (features)");

        private void ReadKeys(IH5Dataset key)
        {
            bool signed = key.Type.FixedPoint.IsSigned;
            long[] keys = key.Type.Size == 8
                ? Guard(Path, () => key.Read<long[]>())
                : Array.ConvertAll(Guard(Path, () => key.Read<int[]>()), k => signed ? k : (long)(uint)k);
            if (keys.Length != Rows) throw new DataFormatException(Path, $"'key' gave {keys.Length} ids; expected {Rows}");
            int[] rows = [.. Enumerable.Range(0, keys.Length)];
            Array.Sort(keys, rows);
            for (int i = 1; i < keys.Length; i++)
                if (keys[i] == keys[i - 1])
                    throw new DataFormatException(Path, $"item id {keys[i]} appears twice in 'key' (rows {Math.Min(rows[i], rows[i - 1])} and {Math.Max(rows[i], rows[i - 1])}); expected distinct ids");
            _sortedKeys = keys;
            _rowOfSortedKey = rows;
        }

        /// <summary>The feature row of an item id, or -1 when <c>key</c> lacks it.</summary>
        public int RowOf(long item)
        {
            int i = Array.BinarySearch(_sortedKeys, item);
            return i >= 0 ? _rowOfSortedKey[i] : -1;
        }

        public void ReadRows(long firstRow, int count, float[] dest)
        {
            var slab = new HyperslabSelection(2, [(ulong)firstRow, 0], [(ulong)count, (ulong)Cols]);
            int n = count * Cols;
            if (_double)
            {
                double[] d = Guard(Path, () => _value.Read<double[]>(slab));
                for (int i = 0; i < n; i++) dest[i] = (float)d[i];
            }
            else
            {
                float[] got = Guard(Path, () => _value.Read<float[]>(slab));
                got.AsSpan(0, n).CopyTo(dest);
            }
        }

        public void Dispose() => _file.Dispose();
    }

    /// <summary>Turns whatever PureHDF throws on a damaged or truncated file into a one-line user error.</summary>
    private static T Guard<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is not DataFormatException)
        {
            string why = Printable.Quote(e.Message.ReplaceLineEndings(" "), 160);
            throw new DataFormatException(path, $"not a readable HDF5 features file (truncated or damaged?): {e.GetType().Name}: {why}", e);
        }
    }
}
