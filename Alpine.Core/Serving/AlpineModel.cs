using System.Buffers;
using Alpine.Data;
using Alpine.Inference;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Serving;

/// <summary>One impression to add to a user's history: the user was shown the item at the time and clicked it or not.</summary>
public readonly record struct Observation(int User, int Item, long Timestamp, bool Click);

/// <summary>A user a new item is routed to, with the user's click probability for it.</summary>
public readonly record struct Routed(int User, float Probability);

/// <summary>What <see cref="AlpineModel.Load"/> opens besides the model.</summary>
public sealed record ServingOptions
{
    /// <summary>Where observed impressions are journaled (<see cref="Journal"/>); null: the run folder's
    /// <c>serving/</c>. Ignored when <see cref="Journaled"/> is false.</summary>
    public string? ServingDir { get; init; }
    /// <summary>False: observations live in memory only (benchmarks, read-only use); nothing is written.</summary>
    public bool Journaled { get; init; } = true;
    /// <summary>How far a journaled observation is written before it is acknowledged.</summary>
    public JournalSync JournalSync { get; init; } = JournalSync.Disk;
    /// <summary>Threads the load-time encoding uses; 0 means every core.</summary>
    public int Threads { get; init; }
    /// <summary>Bytes the item-side cache (every head's x part of an item, <see cref="ItemCache"/>) may take; items past
    /// it are computed per request.</summary>
    public long ItemCacheBytes { get; init; } = DefaultItemCacheBytes;

    /// <summary>How the item cache keeps each part: floats (the default) or bfloat16, half the bytes; answers are the same.</summary>
    public ItemCachePrecision ItemCachePrecision { get; init; } = ItemCachePrecision.Float;

    /// <summary>256 MiB: 174,762 items at the default shape (1.5 KB each), twice as many in bfloat16.</summary>
    public const long DefaultItemCacheBytes = 256L << 20;
}

/// <summary>
/// How <see cref="AlpineModel"/>'s item cache stores each item's head parts. Either way every probability returned is
/// computed from float parts, so answers are the same bits; the precision trades memory and speed only.
/// </summary>
public enum ItemCachePrecision
{
    /// <summary>Floats (1.5 KB an item at the default shape), the default: score, recommend and route read them as they are.</summary>
    Float,
    /// <summary>
    /// bfloat16 (rounded to nearest even): half the bytes a row, so twice the items per budget and half
    /// the memory a recommend streams. Recommend ranks with these rows, whose logits lie within a bound of the float
    /// rows' (the rounding, at most 2⁻⁸ of each part, and both sums' float rounding), and rescores from float parts
    /// the few candidates that bound cannot rule out; score and route compute their items' float parts per call.
    /// </summary>
    BFloat16,
}

/// <summary>
/// A trained model served "now": per user, the graph-LSTM states of the click and not-click sequences encoded once
/// (SharedPrefix, SPEC D12) with the ≤ W most recent kept, so a score costs the attention and the heads only.
/// <see cref="Score"/>, <see cref="Recommend"/>, <see cref="Route(int, int[], int)"/> read them in parallel;
/// <see cref="Observe"/> appends one impression, journals it (when journaled) and advances that user's branch by one
/// graph-LSTM step, swapping the user's state in whole: readers see it before or after, never torn. The user-matrix
/// row stays as trained (SPEC D9: it is a parameter). Scores equal <see cref="Recommender.Rank"/> of a
/// SharedPrefix model to float rounding (the states come from <see cref="CellStep"/>, not the batched layer, and the
/// prediction layer is factored: <see cref="Router"/> shares the item's work across users, <see cref="CandidateScorer"/>
/// the user's across candidates, both reading the per-item <see cref="ItemCache"/> and the per-user U part of
/// <see cref="HeadParts"/>, M floats a user).
/// </summary>
public sealed partial class AlpineModel : IDisposable
{
    private readonly UserState[] _users;
    private readonly object[] _userLocks;
    private readonly StateEncoder _click;
    private readonly StateEncoder? _notClick;
    private readonly HeadParts _heads;
    private readonly ItemCache _itemCache;
    private readonly Router _router;
    private readonly int[] _allUsers;
    private readonly CandidateScorer _candidates;
    private readonly ModelLayout _layout;
    private readonly float[] _p;
    private readonly FeatureProjection? _projection;
    private Journal? _journal;
    private long _observed;

    private AlpineModel(PreparedData data, ModelConfig config, float[] parameters, FeatureProjection? projection, int threads, long itemCacheBytes,
        ItemCachePrecision precision)
    {
        config.Validate();
        Data = data; Config = config; _p = parameters; _projection = projection;
        _layout = ModelLayout.ForBackend(config, data.Items, data.UserCount, parameters);
        _allUsers = [.. Enumerable.Range(0, data.UserCount)];
        float[] category = _layout.Category is { } cat ? cat.Of(parameters).ToArray() : [];
        _heads = new HeadParts(config, _layout, parameters, threads);
        _itemCache = new ItemCache(_heads, data.Items, category, itemCacheBytes, precision);
        _router = new Router(config, _layout, parameters, _heads);
        _candidates = new CandidateScorer(config, _layout, parameters, _heads, _itemCache);
        StateEncoder Encoder(BranchTensors t) => new(new CellStep(config, t, parameters), data.Items, category, config.Window, data.TopL, data.Metric);
        _click = Encoder(_layout.Branches[0]);
        _notClick = _layout.Branches.Count > 1 ? Encoder(_layout.Branches[1]) : null;
        _users = new UserState[data.UserCount];
        _userLocks = [.. Enumerable.Range(0, data.UserCount).Select(_ => new object())];
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        // Each branch's rows in slabs, users back to back: a route streams them instead of visiting a buffer a user.
        var clickSlabs = new StateSlabs(data.ClickSequences, data.UserCount, config.Window, config.HiddenSize);
        var notClickSlabs = _notClick is null ? null : new StateSlabs(data.NotClickSequences, data.UserCount, config.Window, config.HiddenSize);
        Parallel.For(0, data.UserCount, options, u => _users[u] = EncodeUser(u, clickSlabs, notClickSlabs));
    }

    public PreparedData Data { get; }
    public ModelConfig Config { get; }
    /// <summary>The model file served (empty for a model built in memory).</summary>
    public string ModelPath { get; private init; } = "";
    public string? ServingDir => _journal?.Dir;
    public int UserCount => Data.UserCount;
    public int ItemCount => Data.ItemCount;
    /// <summary>Impressions observed since the prepared data (replayed from the journal included).</summary>
    public long ObservedCount => Interlocked.Read(ref _observed);
    /// <summary>What loading had to say (a torn journal tail dropped).</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];
    /// <summary>The length of a raw feature vector <see cref="Route(ReadOnlySpan{float}, int, int[], int)"/> takes
    /// (fits the PCA again on first use); 0 when the model has no raw features to project with.</summary>
    public int RawFeatureDim => _projection?.InputDim ?? 0;

    /// <summary>
    /// Loads the prepared data in <paramref name="dataDir"/> and the model of the run folder (or model file)
    /// <paramref name="model"/>, refusing a model trained on other data, encodes every user and replays the
    /// serving folder's journal (taking its lock: one writer per serving folder).
    /// </summary>
    public static AlpineModel Load(string dataDir, string model, ServingOptions? options = null)
    {
        options ??= new ServingOptions();
        var data = PreparedData.Load(dataDir);
        string path = Directory.Exists(model) ? Path.Combine(model, RunFolder.ModelFileName) : model;
        if (!File.Exists(path)) throw new UsageException($"no model at {path} (train one with 'alpine train')");
        var file = ModelFile.Read(path);
        file.RequireMatches(data, path, dataDir);
        var folder = DataFolder.Open(dataDir);
        var projection = new FeatureProjection(data, () =>
        {
            var npy = folder.OpenFeatures();
            return (new NpyFeatureRows(npy), npy);
        }, folder.ItemsPath);
        var served = new AlpineModel(data, file.Config, file.Parameters, projection, options.Threads, options.ItemCacheBytes, options.ItemCachePrecision) { ModelPath = Path.GetFullPath(path) };
        if (options.Journaled)
            served.OpenJournal(options.ServingDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "serving"), options.JournalSync);
        return served;
    }

    /// <summary>
    /// A model held in memory (tests, benchmarks): <paramref name="rawFeatures"/>, when given, are the features
    /// <paramref name="data"/> was prepared from, for raw-vector routing; <paramref name="servingDir"/>, when
    /// given, journals observations there (and replays what it holds).
    /// </summary>
    public static AlpineModel Create(PreparedData data, ModelConfig config, float[] parameters,
        IFeatureRows? rawFeatures = null, string? servingDir = null, int threads = 0, long itemCacheBytes = ServingOptions.DefaultItemCacheBytes,
        JournalSync sync = JournalSync.Disk, ItemCachePrecision precision = ItemCachePrecision.Float)
    {
        var projection = rawFeatures is null ? null : new FeatureProjection(data, () => (rawFeatures, null), "the raw features");
        var served = new AlpineModel(data, config, (float[])parameters.Clone(), projection, threads, itemCacheBytes, precision);
        if (servingDir is not null) served.OpenJournal(servingDir, sync);
        return served;
    }

    /// <summary>p(click) of each item for the user now (after every impression, observed ones included), in input order.</summary>
    public float[] Score(int user, ReadOnlySpan<int> items)
    {
        var state = State(user);
        foreach (int item in items)
            if ((uint)item >= (uint)ItemCount)
                throw new ServingInputException("items", $"items lists item {item}, which is not in the data set (ids are 0..{ItemCount - 1})", notFound: true);
        var p = new float[items.Length];
        _candidates.Probabilities(user, state, items.ToArray(), items.Length, p);
        return p;
    }

    /// <summary>
    /// The <paramref name="k"/> best of <paramref name="candidates"/> (null: every item the user has not been shown)
    /// for the user, best first; ties in input (id) order.
    /// </summary>
    public Ranked[] Recommend(int user, int[]? candidates, int k)
    {
        CheckK(k);
        var state = State(user);
        candidates ??= Unseen(user, state);
        CheckDistinct(candidates, "candidates", ItemCount, "item");
        if (_itemCache.Precision == ItemCachePrecision.BFloat16 && candidates.Length > k && candidates.Length >= ShortlistFrom)
            candidates = Shortlist(user, state, candidates, k);
        float[] p = ArrayPool<float>.Shared.Rent(candidates.Length);
        try
        {
            _candidates.Probabilities(user, state, candidates, candidates.Length, p);
            return [.. TopK.Best(p.AsSpan(0, candidates.Length), k).Select(i => new Ranked(candidates[i], p[i]))];
        }
        finally { ArrayPool<float>.Shared.Return(p); }
    }

    /// <summary>Candidates from which a bfloat16 cache ranks first (<see cref="Shortlist"/>); fewer are scored from float parts at once.</summary>
    internal const int ShortlistFrom = 2048;

    /// <summary>Ulps of p between a candidate's upper bound and the k-th lower bound below which it is ruled out.</summary>
    internal const int Margin = 16;

    /// <summary>
    /// The candidates (in their order) that can be among the k best by the p <see cref="Score"/> gives, found from the
    /// bfloat16 rows: each candidate's p lies in [low, high] (<see cref="CandidateScorer.Bounds"/>) up to σ's failures
    /// to be monotone, which are at most <see cref="Margin"/> / 2 ulps (<c>SimdTests</c>); with T the k-th largest
    /// low, a candidate whose high lies more than <see cref="Margin"/> ulps below T is beaten, strictly, by k others,
    /// whatever their ties. Rescoring the rest from float parts then gives the k best exactly as the float cache does.
    /// </summary>
    private int[] Shortlist(int user, UserState state, int[] candidates, int k)
    {
        int n = candidates.Length;
        float[] low = ArrayPool<float>.Shared.Rent(n), high = ArrayPool<float>.Shared.Rent(n);
        try
        {
            _candidates.Bounds(user, state, candidates, n, low, high);
            var best = TopK.Best(low.AsSpan(0, n), k);
            uint t = BitConverter.SingleToUInt32Bits(low[best[^1]]);   // p > 0: the bits order as the values do
            var kept = new List<int>(Math.Min(n, 4 * k));
            for (int i = 0; i < n; i++)
                if (BitConverter.SingleToUInt32Bits(high[i]) + Margin >= t) kept.Add(candidates[i]);
            return [.. kept];
        }
        finally
        {
            ArrayPool<float>.Shared.Return(low); ArrayPool<float>.Shared.Return(high);
        }
    }

    /// <summary>The <paramref name="k"/> users (of <paramref name="users"/>, null: all) most likely to click item <paramref name="item"/>, best first.</summary>
    public Routed[] Route(int item, int[]? users, int k)
    {
        CheckItem(item, "item");
        var x = new float[Config.ItemDim];
        var parts = new float[_heads.ItemWidth];
        _itemCache.Parts([item], parts, x);
        return RouteX(x, parts, users, k);
    }

    /// <summary>
    /// Route for a new item given by its raw feature vector (the length of the data's raw features), projected as
    /// the data was (SPEC D3); thacil also needs the item's <paramref name="category"/>.
    /// </summary>
    public Routed[] Route(ReadOnlySpan<float> features, int category, int[]? users, int k)
    {
        if (_projection is null) throw new ServingInputException("features", "this model has no raw features to project a vector with");
        var visual = _projection.Project(features);
        var x = new float[Config.ItemDim];
        if (_layout.Category is { } cat)
        {
            if (category < 0)
                throw new ServingInputException("category", $"this model reads an item's category: route a feature vector with its category (0..{Data.CategoryCount - 1})");
            if (category >= Data.CategoryCount)
                throw new ServingInputException("category", $"category {category} is not in the data set (ids are 0..{Data.CategoryCount - 1})", notFound: true);
            int dc = Config.CategoryDim;
            cat.Of(_p).Slice(category * dc, dc).CopyTo(x);
        }
        visual.CopyTo(x.AsSpan(x.Length - visual.Length));
        var parts = new float[_heads.ItemWidth];
        _heads.ItemParts(parts, x, parallel: false);
        return RouteX(x, parts, users, k);
    }

    private Routed[] RouteX(float[] x, float[] parts, int[]? users, int k)
    {
        CheckK(k);
        users ??= _allUsers;
        if (!ReferenceEquals(users, _allUsers)) CheckDistinct(users, "users", UserCount, "user");
        int n = users.Length;
        UserState[] states = ArrayPool<UserState>.Shared.Rent(n);
        float[] p = ArrayPool<float>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++) states[i] = Volatile.Read(ref _users[users[i]]);
            _router.Probabilities(x, parts, states, users, n, p);
            return [.. TopK.Best(p.AsSpan(0, n), k).Select(i => new Routed(users[i], p[i]))];
        }
        finally
        {
            ArrayPool<UserState>.Shared.Return(states, clearArray: true);   // no snapshot outlives the call in the pool
            ArrayPool<float>.Shared.Return(p);
        }
    }

    /// <summary>
    /// Appends one impression to the user's history: checked (a known user and item, not earlier than the user's
    /// latest impression), journaled and flushed to disk when journaled, then one graph-LSTM step on the clicked or
    /// not-clicked branch. Observations of one user are serialised; other users' reads go on meanwhile. An unknown
    /// user is refused (NotFound): a new user has no row in the trained user matrix (SPEC D9).
    /// </summary>
    public void Observe(Observation o)
    {
        var current = State(o.User);
        CheckItem(o.Item, "item");
        lock (_userLocks[o.User])
        {
            current = _users[o.User];
            if (o.Timestamp < current.LastTimestamp)
                throw new ServingInputException("timestamp", $"timestamp {o.Timestamp} is before user {o.User}'s latest impression ({current.LastTimestamp}); impressions arrive in time order");
            _journal?.Append(o);
            Apply(current, o);
        }
    }

    /// <summary>Bytes the item cache holds (<see cref="ServingOptions.ItemCacheBytes"/> at most) and the items it covers.</summary>
    public long ItemCacheBytes => _itemCache.Bytes;
    public int CachedItems => _itemCache.Count;
    /// <summary>Bytes of the user head's per-user U part, M floats a user (0 without the multi-level branch).</summary>
    public long UserPartBytes => _heads.UserPartBytes;

    /// <summary>Bytes of cached state of a user (both branches' buffers and the observed items).</summary>
    public long StateBytes(int user) => State(user).Bytes;

    public void Dispose() => _journal?.Dispose();

    /// <summary>The user's current snapshot (tests compare states).</summary>
    internal UserState StateOf(int user) => State(user);

    /// <summary>Bounds of each item's p from a bfloat16 cache's rows (<see cref="CandidateScorer.Bounds"/>; tests).</summary>
    internal (float[] Low, float[] High) BoundsOf(int user, int[] items)
    {
        var (low, high) = (new float[items.Length], new float[items.Length]);
        _candidates.Bounds(user, State(user), items, items.Length, low, high);
        return (low, high);
    }

    /// <summary>The candidates a bfloat16 cache's recommend rescores from float parts (tests).</summary>
    internal int[] ShortlistOf(int user, int[] candidates, int k) => Shortlist(user, State(user), candidates, k);

    /// <summary>An encoder of the model's click or not-click branch (tests re-encode from scratch with it).</summary>
    internal StateEncoder EncoderOf(bool clicks) => clicks ? _click : _notClick!;

    private void Apply(UserState current, Observation o)
    {
        var click = o.Click ? _click.Append(current.Click, o.Item) : current.Click;
        var notClick = !o.Click && _notClick is not null ? _notClick.Append(current.NotClick!, o.Item) : current.NotClick;
        Volatile.Write(ref _users[o.User], new UserState(click, notClick, o.Timestamp, current.Observed.Append(o.Item)));
        Interlocked.Increment(ref _observed);
    }

    private UserState EncodeUser(int u, StateSlabs clickSlabs, StateSlabs? notClickSlabs)
    {
        var d = Data;
        BranchState Branch(StateEncoder e, SequenceSet s, StateSlabs slabs) =>
            e.Encode(s.Items.AsSpan(s.Offsets[u], s.Length(u)), s.GraphPred.AsSpan(s.Offsets[u] * s.TopL, s.Length(u) * s.TopL), slabs.Of(u));
        int last = d.UserOffsets[u + 1] - 1;
        return new UserState(Branch(_click, d.ClickSequences, clickSlabs), _notClick is null ? null : Branch(_notClick, d.NotClickSequences, notClickSlabs!),
            last >= d.UserOffsets[u] ? d.Timestamp[last] : long.MinValue, ItemLog.Empty);
    }

    private UserState State(int user)
    {
        if ((uint)user >= (uint)UserCount)
            throw new ServingInputException("user", $"user {user} is not in the data set (ids are 0..{UserCount - 1})", notFound: true);
        return Volatile.Read(ref _users[user]);
    }

    private void CheckItem(int item, string field)
    {
        if ((uint)item >= (uint)ItemCount)
            throw new ServingInputException(field, $"item {item} is not in the data set (ids are 0..{ItemCount - 1})", notFound: true);
    }

    private static void CheckK(int k)
    {
        if (k < 1) throw new ServingInputException("k", $"k must be at least 1, got {k}");
    }

    private static void CheckDistinct(int[] ids, string field, int count, string what)
    {
        // A bit per id of the whole range: 12.5 KB for 100,000 items, where a set of 100,000 candidates is megabytes.
        int words = (count + 63) / 64;
        ulong[] seen = ArrayPool<ulong>.Shared.Rent(words);
        try
        {
            Array.Clear(seen, 0, words);
            foreach (int id in ids)
            {
                if ((uint)id >= (uint)count)
                    throw new ServingInputException(field, $"{field} lists {what} {id}, which is not in the data set (ids are 0..{count - 1})", notFound: true);
                ulong bit = 1UL << (id & 63);
                if ((seen[id >> 6] & bit) != 0) throw new ServingInputException(field, $"{field} lists {what} {id} twice");
                seen[id >> 6] |= bit;
            }
        }
        finally { ArrayPool<ulong>.Shared.Return(seen); }
    }

    /// <summary>Every item the user has not been shown, prepared or observed (id order).</summary>
    private int[] Unseen(int user, UserState state)
    {
        var seen = new bool[ItemCount];
        for (int p = Data.UserOffsets[user]; p < Data.UserOffsets[user + 1]; p++) seen[Data.Item[p]] = true;
        foreach (int i in state.Observed.Items) seen[i] = true;
        return [.. Enumerable.Range(0, ItemCount).Where(i => !seen[i])];
    }
}
