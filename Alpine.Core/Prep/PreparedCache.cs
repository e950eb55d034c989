using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Alpine.Data;

namespace Alpine.Prep;

/// <summary>
/// The binary cache <c>prepared.alpc</c> (docs/FORMATS.md "Prepared cache"): a header (magic, format
/// version, fingerprint, options, counts), the arrays of <see cref="PreparedData"/> each as an int64 element
/// count plus its raw little-endian elements, and a SHA-256 of everything before it. Written atomically
/// (temporary file, flush to disk, rename); a truncated, corrupt or foreign file is refused with a
/// <see cref="DataFormatException"/> naming it.
/// </summary>
internal static class PreparedCache
{
    private static ReadOnlySpan<byte> Magic => "ALPCACHE"u8;
    public const int FormatVersion = 4;

    public sealed record Header(string Fingerprint, PrepareOptions Options, Profile Profile, int UserCount, int ItemCount,
        int CategoryCount, bool HasCategories, int VisualDim, long Impressions, long Clicks, long NotClicks, long Liked, long Followed);

    public static void Write(string path, PreparedData d)
    {
        AtomicFile.Write(path, stream =>
        {
            using (var w = new Writer(stream))
            {
                w.Bytes(Magic);
                w.Int(FormatVersion);
                w.String(d.Fingerprint);
                var o = d.Options;
                w.Int(o.TopL); w.Int((int)o.Metric); w.Int(o.Seed); w.Int(o.Dims); w.Int(o.MaxFitItems); w.Int((int)o.Eigen); w.Int((int)o.Scale);
                w.Int((int)d.Profile); w.Int(d.UserCount); w.Int(d.ItemCount); w.Int(d.CategoryCount);
                w.Int(d.Items.Category is null ? 0 : 1); w.Int(d.Items.VisualDim);
                w.Long(d.ImpressionCount); w.Long(d.ClickItem.Length); w.Long(d.NotClickItem.Length);
                w.Long(d.LikesFollows.LikedItems.Length); w.Long(d.LikesFollows.FollowedItems.Length);

                w.Array(d.Items.Visual);
                if (d.Items.Category is not null) w.Array(d.Items.Category);
                w.Array(d.UserOffsets); w.Array(d.Item); w.Array(d.Timestamp); w.Array(d.Flags); w.Array(d.Part);
                w.Array(d.ClickOffsets); w.Array(d.ClickItem); w.Array(d.ClickGraphPred);
                w.Array(d.NotClickOffsets); w.Array(d.NotClickItem); w.Array(d.NotClickGraphPred);
                w.Array(d.ClickHistEnd); w.Array(d.NotClickHistEnd);
                var lf = d.LikesFollows;
                w.Array(lf.LikedOffsets); w.Array(lf.LikedItems); w.Array(lf.FollowedOffsets); w.Array(lf.FollowedItems);
                w.Finish();
            }
        });
    }

    public static Header ReadHeader(string path)
    {
        using var r = new Reader(path);
        return ReadHeader(r);
    }

    public static PreparedData Read(string path)
    {
        using var r = new Reader(path);
        var h = ReadHeader(r);
        long n = h.Impressions, u1 = h.UserCount + 1L, L = h.Options.TopL;
        var visual = r.Array<float>((long)h.ItemCount * h.VisualDim);
        var category = h.HasCategories ? r.Array<int>(h.ItemCount) : null;
        var data = new PreparedData
        {
            Profile = h.Profile,
            UserCount = h.UserCount,
            ItemCount = h.ItemCount,
            CategoryCount = h.CategoryCount,
            TopL = h.Options.TopL,
            Metric = h.Options.Metric,
            Fingerprint = h.Fingerprint,
            Options = h.Options,
            Items = new ItemTable(visual, h.VisualDim, category, h.CategoryCount),
            UserOffsets = r.Array<int>(u1),
            Item = r.Array<int>(n),
            Timestamp = r.Array<long>(n),
            Flags = r.Array<byte>(n),
            Part = r.Array<SplitPart>(n),
            ClickOffsets = r.Array<int>(u1),
            ClickItem = r.Array<int>(h.Clicks),
            ClickGraphPred = r.Array<int>(h.Clicks * L),
            NotClickOffsets = r.Array<int>(u1),
            NotClickItem = r.Array<int>(h.NotClicks),
            NotClickGraphPred = r.Array<int>(h.NotClicks * L),
            ClickHistEnd = r.Array<int>(n),
            NotClickHistEnd = r.Array<int>(n),
            LikesFollows = new LikeFollowLists(r.Array<int>(u1), r.Array<int>(h.Liked), r.Array<int>(u1), r.Array<int>(h.Followed)),
        };
        r.Finish();
        string? problem = Inconsistency(data);
        if (problem is not null) throw r.Bad($"corrupt: {problem}");
        return data;
    }

    /// <summary>
    /// The first broken invariant of data read from a cache, or null. The checksum catches accidental damage;
    /// this catches a file whose checksum was rewritten over bad content, which would otherwise index out of
    /// range deep inside training. Linear in the size of the data.
    /// </summary>
    internal static string? Inconsistency(PreparedData d)
    {
        int n = d.ImpressionCount, items = d.ItemCount, L = d.TopL;
        if (Offsets(d.UserOffsets, n) is { } o) return $"user offsets {o}";
        if (d.Items.Category is { } cats && cats.Any(c => (uint)c >= (uint)d.CategoryCount)) return "a category id is out of range";
        int top = System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude(d.Items.Visual);
        if (top >= 0 && !float.IsFinite(d.Items.Visual[top])) return "a visual feature is not finite";
        for (int p = 0; p < n; p++)
        {
            if ((uint)d.Item[p] >= (uint)items) return $"impression {p} names item {d.Item[p]} of {items}";
            byte f = d.Flags[p];
            if (f > 7 || ((f & InteractionLog.ClickFlag) == 0 && f != 0)) return $"impression {p} has flags {f}";
            if (d.Part[p] is not (SplitPart.Train or SplitPart.Validation or SplitPart.Test)) return $"impression {p} has part {(int)d.Part[p]}";
        }
        foreach (var (offsets, seqItems, preds, histEnd, clicked) in new[]
        {
            (d.ClickOffsets, d.ClickItem, d.ClickGraphPred, d.ClickHistEnd, true),
            (d.NotClickOffsets, d.NotClickItem, d.NotClickGraphPred, d.NotClickHistEnd, false),
        })
        {
            string kind = clicked ? "click" : "not-click";
            if (Offsets(offsets, seqItems.Length) is { } so) return $"{kind} offsets {so}";
            for (int u = 0; u < d.UserCount; u++)
            {
                int a = offsets[u], b = offsets[u + 1];
                for (int q = a; q < b; q++)
                {
                    if ((uint)seqItems[q] >= (uint)items) return $"{kind} sequence item {seqItems[q]} of {items}";
                    for (int k = 0; k < L; k++)
                    {
                        int pred = preds[(long)q * L + k];
                        if (pred < -1 || pred >= q - a) return $"{kind} graph edge {pred} at position {q - a} of user {u}";
                    }
                }
                for (int p = d.UserOffsets[u]; p < d.UserOffsets[u + 1]; p++)
                    if ((uint)histEnd[p] > (uint)(b - a)) return $"{kind} history end {histEnd[p]} beyond user {u}'s {b - a}";
            }
        }
        var lf = d.LikesFollows;
        if (Offsets(lf.LikedOffsets, lf.LikedItems.Length) is { } lo) return $"liked offsets {lo}";
        if (Offsets(lf.FollowedOffsets, lf.FollowedItems.Length) is { } fo) return $"followed offsets {fo}";
        if (lf.LikedItems.Concat(lf.FollowedItems).Any(i => (uint)i >= (uint)items)) return "a liked or followed item is out of range";
        return null;
    }

    /// <summary>Why CSR offsets are broken (not starting at 0, decreasing, or not ending at <paramref name="count"/>), or null.</summary>
    private static string? Offsets(int[] offsets, long count)
    {
        if (offsets[0] != 0 || offsets[^1] != count) return $"run from {offsets[0]} to {offsets[^1]}, expected 0 to {count}";
        for (int i = 1; i < offsets.Length; i++)
            if (offsets[i] < offsets[i - 1]) return $"decrease at {i}";
        return null;
    }

    private static Header ReadHeader(Reader r)
    {
        Span<byte> magic = stackalloc byte[8];
        r.Bytes(magic);
        if (!magic.SequenceEqual(Magic)) throw r.Bad("not an Alpine prepared cache (wrong magic)");
        int version = r.Int();
        if (version != FormatVersion) throw r.Bad($"cache format version {version}; this build reads version {FormatVersion}");
        string fingerprint = r.String();
        var options = new PrepareOptions { TopL = r.Int(), Metric = (EdgeMetric)r.Int(), Seed = r.Int(), Dims = r.Int(), MaxFitItems = r.Int(), Eigen = (PcaEigen)r.Int(), Scale = (FeatureScale)r.Int() };
        var h = new Header(fingerprint, options, (Profile)r.Int(), r.Int(), r.Int(), r.Int(), r.Int() != 0, r.Int(),
            r.Long(), r.Long(), r.Long(), r.Long(), r.Long());
        if (h.UserCount < 0 || h.ItemCount < 0 || h.VisualDim < 1 || h.Impressions < 0 || h.Clicks < 0 || h.NotClicks < 0
            || h.Clicks + h.NotClicks != h.Impressions || h.Liked < 0 || h.Followed < 0 || options.TopL < 1 || !Enum.IsDefined(options.Eigen) || !Enum.IsDefined(options.Scale))
            throw r.Bad("corrupt header");
        return h;
    }

    /// <summary>Writes and hashes (SHA-256) in one go.</summary>
    private sealed class Writer(Stream stream) : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public void Bytes(ReadOnlySpan<byte> b) { stream.Write(b); _hash.AppendData(b); }
        public void Int(int v) => Bytes(MemoryMarshal.AsBytes(new ReadOnlySpan<int>(ref v)));
        public void Long(long v) => Bytes(MemoryMarshal.AsBytes(new ReadOnlySpan<long>(ref v)));
        public void String(string s) { var b = Encoding.UTF8.GetBytes(s); Int(b.Length); Bytes(b); }
        public void Array<T>(T[] a) where T : unmanaged { Long(a.Length); Bytes(MemoryMarshal.AsBytes(a.AsSpan())); }

        public void Finish()
        {
            stream.Write(_hash.GetHashAndReset());
        }

        /// <summary>The stream belongs to the caller (AtomicFile flushes and renames it).</summary>
        public void Dispose() => _hash.Dispose();
    }

    /// <summary>Reads and hashes; every length is checked against the header before anything is allocated.</summary>
    private sealed class Reader : IDisposable
    {
        private readonly FileStream _stream;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly string _path;

        public Reader(string path)
        {
            _path = path;
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        }

        public DataFormatException Bad(string problem) =>
            new(_path, $"{problem}; delete it or run 'alpine prepare' to rebuild it");

        public void Bytes(Span<byte> b)
        {
            if (_stream.ReadAtLeast(b, b.Length, throwOnEndOfStream: false) != b.Length) throw Bad("truncated");
            _hash.AppendData(b);
        }

        public int Int() { int v = 0; Bytes(MemoryMarshal.AsBytes(new Span<int>(ref v))); return v; }
        public long Long() { long v = 0; Bytes(MemoryMarshal.AsBytes(new Span<long>(ref v))); return v; }

        public string String()
        {
            int len = Int();
            if (len is < 0 or > 4096) throw Bad("corrupt header");
            var b = new byte[len];
            Bytes(b);
            return Encoding.UTF8.GetString(b);
        }

        public T[] Array<T>(long expected) where T : unmanaged
        {
            long len = Long();
            if (len != expected) throw Bad($"corrupt: an array holds {len} elements where the header implies {expected}");
            if (expected * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > _stream.Length - _stream.Position) throw Bad("truncated");
            var a = new T[expected];
            Bytes(MemoryMarshal.AsBytes(a.AsSpan()));
            return a;
        }

        /// <summary>Checks the trailing SHA-256 and that nothing follows it.</summary>
        public void Finish()
        {
            Span<byte> stored = stackalloc byte[32];
            if (_stream.ReadAtLeast(stored, 32, throwOnEndOfStream: false) != 32) throw Bad("truncated");
            if (!stored.SequenceEqual(_hash.GetHashAndReset())) throw Bad("checksum mismatch (the file is corrupt)");
            if (_stream.Position != _stream.Length) throw Bad("trailing bytes after the checksum");
        }

        public void Dispose() { _hash.Dispose(); _stream.Dispose(); }
    }
}
