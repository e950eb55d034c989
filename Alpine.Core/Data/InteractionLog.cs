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

    /// <summary>One more than the largest user id seen.</summary>
    public int UserCount { get; private set; }

    /// <summary>One more than the largest item id seen.</summary>
    public int MaxItemIdPlusOne { get; private set; }

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
        if (user >= UserCount) UserCount = user + 1;
        if (item >= MaxItemIdPlusOne) MaxItemIdPlusOne = item + 1;
    }

    private void Grow()
    {
        int n = checked(_users.Length * 2);
        Array.Resize(ref _users, n);
        Array.Resize(ref _items, n);
        Array.Resize(ref _timestamps, n);
        Array.Resize(ref _flags, n);
        Array.Resize(ref _splits, n);
    }
}
