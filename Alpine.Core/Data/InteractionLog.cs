namespace Alpine.Data;

/// <summary>Which part of the data an impression belongs to (SPEC D1).</summary>
public enum SplitPart : byte
{
    /// <summary>No split given by the source; <c>Prep.Splitter</c> assigns one.</summary>
    None = 0,
    Train = 1,
    Validation = 2,
    Test = 3,
}

/// <summary>
/// Impressions <c>(user, item, timestamp, click, like, follow[, split])</c> as columns, in input order.
/// Ids are dense 0-based indexes: item ids index the rows of the item feature matrix.
/// Like and follow only occur on clicked impressions (readers enforce it).
/// </summary>
public sealed class InteractionLog
{
    private int[] _users;
    private int[] _items;
    private long[] _timestamps;
    private byte[] _flags;
    private SplitPart[] _splits;

    public const byte ClickFlag = 1, LikeFlag = 2, FollowFlag = 4;

    public InteractionLog(int capacity = 1024)
    {
        capacity = Math.Max(capacity, 16);
        _users = new int[capacity];
        _items = new int[capacity];
        _timestamps = new long[capacity];
        _flags = new byte[capacity];
        _splits = new SplitPart[capacity];
    }

    public int Count { get; private set; }

    /// <summary>True when the source carried its own train/test split (SPEC D1: it then wins).</summary>
    public bool HasSplit { get; private set; }

    /// <summary>The largest user id seen, -1 when empty.</summary>
    public int MaxUserId { get; private set; } = -1;

    /// <summary>The largest item id seen, -1 when empty.</summary>
    public int MaxItemId { get; private set; } = -1;

    /// <summary>One more than the largest user id seen: a long, since an id may be <see cref="int.MaxValue"/>.</summary>
    public long UserCount => MaxUserId + 1L;

    /// <summary>One more than the largest item id seen (a long, like <see cref="UserCount"/>).</summary>
    public long MaxItemIdPlusOne => MaxItemId + 1L;

    public ReadOnlySpan<int> Users => _users.AsSpan(0, Count);
    public ReadOnlySpan<int> Items => _items.AsSpan(0, Count);
    public ReadOnlySpan<long> Timestamps => _timestamps.AsSpan(0, Count);
    public ReadOnlySpan<SplitPart> Splits => _splits.AsSpan(0, Count);

    public bool Click(int i) => (_flags[i] & ClickFlag) != 0;
    public bool Like(int i) => (_flags[i] & LikeFlag) != 0;
    public bool Follow(int i) => (_flags[i] & FollowFlag) != 0;
    public byte Flags(int i) => _flags[i];

    public void Add(int user, int item, long timestamp, bool click, bool like, bool follow, SplitPart split = SplitPart.None)
    {
        System.Diagnostics.Debug.Assert(user >= 0 && item >= 0);
        System.Diagnostics.Debug.Assert(click || (!like && !follow), "like/follow only on clicks");
        if (Count == _users.Length) Grow();
        int i = Count++;
        _users[i] = user;
        _items[i] = item;
        _timestamps[i] = timestamp;
        _flags[i] = (byte)((click ? ClickFlag : 0) | (like ? LikeFlag : 0) | (follow ? FollowFlag : 0));
        _splits[i] = split;
        if (split != SplitPart.None) HasSplit = true;
        if (user > MaxUserId) MaxUserId = user;
        if (item > MaxItemId) MaxItemId = item;
    }

    /// <summary>
    /// The smallest user id in <c>from..MaxUserId</c> without an impression, or -1 when every one has one.
    /// At most <see cref="Count"/> + 1 ids are probed (more ids than impressions leave one out among them), so
    /// nothing is sized by the largest id.
    /// </summary>
    public int FirstUserWithoutImpressions(int from = 0)
    {
        long span = UserCount - from;
        if (span <= 0) return -1;
        var seen = new bool[(int)Math.Min(span, Count + 1L)];
        foreach (int u in Users)
        {
            long k = (long)u - from;
            if (k >= 0 && k < seen.Length) seen[k] = true;
        }
        int missing = Array.IndexOf(seen, false);
        return missing < 0 ? -1 : from + missing;
    }

    /// <summary>
    /// Refuses user ids that are not dense (SPEC D16): a user id is a row of the user embedding and the id
    /// <c>alpine rank --user</c> takes, so a gap would be an untrained user and a count that differs between
    /// commands, and a huge id would size every per-user array. <paramref name="source"/> names the log.
    /// </summary>
    public void EnsureDenseUsers(string source)
    {
        int missing = FirstUserWithoutImpressions();
        if (missing < 0) return;
        string hint = missing == 0 && FirstUserWithoutImpressions(from: 1) < 0 ? " (ids counted from 1? subtract 1 from every user_id)" : "";
        throw new DataFormatException(source,
            $"user ids are not dense: the largest is {MaxUserId} but user {missing} has no impression{hint}; native user ids " +
            "must be 0..users-1, each with at least one impression: renumber them ('alpine import' renumbers raw ids densely)");
    }

    /// <summary>The most impressions a log holds (the largest array .NET allocates).</summary>
    public static int MaxCount => Array.MaxLength;

    private void Grow()
    {
        if (_users.Length == MaxCount) throw new InvalidOperationException($"an interaction log holds at most {MaxCount} impressions");
        int n = (int)Math.Min(2L * _users.Length, MaxCount);
        Array.Resize(ref _users, n);
        Array.Resize(ref _items, n);
        Array.Resize(ref _timestamps, n);
        Array.Resize(ref _flags, n);
        Array.Resize(ref _splits, n);
    }
}
