using Alpine.Data;

namespace Alpine.Prep;

/// <summary>Options of <c>alpine prepare</c>. Any change re-prepares (they are stored in the cache header).</summary>
public sealed record PrepareOptions
{
    /// <summary>L, graph predecessors per position (SPEC D4; paper 4.6).</summary>
    public int TopL { get; init; } = 1;
    public EdgeMetric Metric { get; init; } = EdgeMetric.Euclidean;
    /// <summary>Seeds the PCA fit sample (SPEC D3) and the randomized eigen-solver's test matrix.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>PCA output dims (SPEC D3); features with no more dims are kept as they are.</summary>
    public int Dims { get; init; } = 64;
    /// <summary>At most this many train items are sampled for the PCA fit (SPEC D3).</summary>
    public int MaxFitItems { get; init; } = 200_000;
    /// <summary>
    /// How the PCA's top eigenvectors are found when it reduces: randomized subspace iteration seeded by
    /// <see cref="Seed"/> (the default, several times faster on 2048-d features) or MathNet's full EVD (SPEC D3,
    /// <c>--pca full</c>). They agree where the spectrum has gaps, not bit for bit and not among near-equal
    /// eigenvalues, so it is part of what makes the prepared data.
    /// </summary>
    public PcaEigen Eigen { get; init; } = PcaEigen.Randomized;
    /// <summary>
    /// One global factor on the PCA vectors (<see cref="FeatureScale"/>): <see cref="FeatureScale.Unit"/> (the default)
    /// divides them by their RMS over the fitted items; <see cref="FeatureScale.None"/> keeps SPEC D3's vectors as they
    /// are (<c>--scale none</c>). A deviation from SPEC D3 by default: at the features' own scale (RMS ≈ 6 on the
    /// synthetic logs) the gates and attention start saturated, and ALPINE trained to convergence scored 0.03–0.045
    /// test AUC_user lower on both profiles of <c>small</c> (docs/REPRODUCTION.md, "Input scale").
    /// </summary>
    public FeatureScale Scale { get; init; } = FeatureScale.Unit;

    /// <summary>The options as <c>alpine prepare</c> flags (the PCA method and sizes only when not the defaults).</summary>
    public string Flags()
    {
        var d = new PrepareOptions();
        string s = FormattableString.Invariant($"--top-l {TopL} --metric {Metric.ToString().ToLowerInvariant()} --seed {Seed}");
        if (Eigen != d.Eigen) s += $" --pca {Eigen.ToString().ToLowerInvariant()}";
        if (Scale != d.Scale) s += $" --scale {Scale.ToString().ToLowerInvariant()}";
        return Dims == d.Dims && MaxFitItems == d.MaxFitItems ? s : FormattableString.Invariant($"{s} (PCA to {Dims}-d fitted on ≤ {MaxFitItems} items)");
    }

    /// <summary>Throws <see cref="UsageException"/> naming the option when a value cannot work.</summary>
    public void Validate()
    {
        if (TopL is < 1 or > 64) throw new UsageException($"--top-l must be from 1 to 64, got {TopL}");
        if (Dims < 1) throw new UsageException($"PCA dims must be positive, got {Dims}");
        if (MaxFitItems < 1) throw new UsageException($"the PCA fit sample must be positive, got {MaxFitItems}");
        if (!Enum.IsDefined(Eigen)) throw new UsageException($"--pca must be full or randomized, got {Eigen}");
        if (!Enum.IsDefined(Scale)) throw new UsageException($"--scale must be none or unit, got {Scale}");
    }
}

/// <summary>
/// Everything the trainer needs from a data folder, computed once (SPEC D1–D4) and cached in
/// <c>prepared.alpc</c> beside the data (<see cref="PreparedCache"/>). Impressions are grouped by user,
/// each user's in chronological order; all sequence positions are local to their user's sequence.
/// </summary>
public sealed class PreparedData
{
    public const string CacheFile = NativeFormat.PreparedCacheFile;

    public required Profile Profile { get; init; }
    public required int UserCount { get; init; }
    public required int ItemCount { get; init; }
    /// <summary>Distinct categories (max id + 1); 0 for the kuaishou profile.</summary>
    public required int CategoryCount { get; init; }
    public required int TopL { get; init; }
    public required EdgeMetric Metric { get; init; }
    /// <summary>Identifies the source files the data was prepared from (<see cref="SourceFingerprint"/>).</summary>
    public required string Fingerprint { get; init; }
    /// <summary>The options the data was prepared with.</summary>
    public required PrepareOptions Options { get; init; }

    /// <summary>The PCA visual vectors [ItemCount, VisualDim] and, for thacil, the categories.</summary>
    public required ItemTable Items { get; init; }

    // Impressions, grouped by user, chronological (by timestamp, then input order; SPEC D1).
    /// <summary>(UserCount+1) user u owns impressions [UserOffsets[u], UserOffsets[u+1]).</summary>
    public required int[] UserOffsets { get; init; }
    /// <summary>(N)</summary>
    public required int[] Item { get; init; }
    /// <summary>(N)</summary>
    public required long[] Timestamp { get; init; }
    /// <summary>(N) <see cref="InteractionLog.ClickFlag"/> | LikeFlag | FollowFlag.</summary>
    public required byte[] Flags { get; init; }
    /// <summary>(N) Train, Validation or Test (SPEC D1).</summary>
    public required SplitPart[] Part { get; init; }

    // Click sequences (SPEC D2): user u's are ClickItem[ClickOffsets[u]..ClickOffsets[u+1]).
    /// <summary>(UserCount+1)</summary>
    public required int[] ClickOffsets { get; init; }
    /// <summary>(nClicks)</summary>
    public required int[] ClickItem { get; init; }
    /// <summary>(nClicks, TopL) graph predecessors (SPEC D4), positions in the user's sequence, -1 none.</summary>
    public required int[] ClickGraphPred { get; init; }
    /// <summary>(UserCount+1)</summary>
    public required int[] NotClickOffsets { get; init; }
    /// <summary>(nNotClicks)</summary>
    public required int[] NotClickItem { get; init; }
    /// <summary>(nNotClicks, TopL)</summary>
    public required int[] NotClickGraphPred { get; init; }

    /// <summary>(N) clicks of the impression's user strictly before its timestamp (SPEC D2): its window is
    /// positions [max(0, end − W), end) of the user's click sequence.</summary>
    public required int[] ClickHistEnd { get; init; }
    /// <summary>(N) the same in the not-click sequence.</summary>
    public required int[] NotClickHistEnd { get; init; }

    /// <summary>Per user, items liked / followed in the train part (SPEC D2, D9).</summary>
    public required LikeFollowLists LikesFollows { get; init; }

    public int ImpressionCount => Item.Length;
    public SequenceSet ClickSequences => new(ClickOffsets, ClickItem, ClickGraphPred, TopL);
    public SequenceSet NotClickSequences => new(NotClickOffsets, NotClickItem, NotClickGraphPred, TopL);

    public static string CachePath(string dataDir) => Path.Combine(dataDir, CacheFile);

    /// <summary>Prepares the data folder and writes its cache atomically (replacing any old one).</summary>
    public static PreparedData Prepare(string dataDir, PrepareOptions options,
        IProgress<(string Stage, double Fraction)>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        var folder = DataFolder.Open(dataDir);
        AtomicFile.EnsureWritable(CachePath(dataDir),
            "'alpine prepare' writes its cache beside the data: make the data folder writable, or copy it somewhere writable");
        // Fingerprint first: a file changed while we read it leaves a cache that is stale, never one that lies.
        string fingerprint = SourceFingerprint(folder);
        progress?.Report(("read", 0));
        var log = folder.LoadLog();
        var categories = folder.LoadCategories();
        // Every feature row, not only the PCA's sample, is checked before the long work (FeatureCheck).
        folder.ValidateFeatures();
        progress?.Report(("read", 1));
        PreparedData data;
        using (var npy = folder.OpenFeatures())
            data = FromLog(log, new NpyFeatureRows(npy), categories, options, fingerprint, folder.InteractionsPath, progress, ct);
        progress?.Report(("cache", 0));
        PreparedCache.Write(CachePath(dataDir), data);
        progress?.Report(("cache", 1));
        return data;
    }

    /// <summary>
    /// Loads the cache; refuses a missing, corrupt or stale one (source files changed since) with a
    /// <see cref="DataFormatException"/> that says to run <c>alpine prepare</c>.
    /// </summary>
    public static PreparedData Load(string dataDir)
    {
        var folder = DataFolder.Open(dataDir);
        string path = CachePath(dataDir);
        if (!File.Exists(path))
            throw new DataFormatException(path, $"no prepared cache; run 'alpine prepare --data {dataDir}' first");
        var header = PreparedCache.ReadHeader(path);
        if (header.Fingerprint != SourceFingerprint(folder))
            throw new DataFormatException(path, $"stale: the source files changed since it was prepared; run 'alpine prepare --data {dataDir}'");
        return PreparedCache.Read(path);
    }

    /// <summary>
    /// Loads the cache when it is intact, fresh and was prepared with <paramref name="options"/>; otherwise
    /// prepares (and rewrites the cache).
    /// </summary>
    public static PreparedData LoadOrPrepare(string dataDir, PrepareOptions options,
        IProgress<(string Stage, double Fraction)>? progress = null, CancellationToken ct = default)
    {
        if (IsCacheFresh(dataDir, options))
        {
            try { return PreparedCache.Read(CachePath(dataDir)); }
            catch (DataFormatException) { /* corrupt body: prepare again */ }
        }
        return Prepare(dataDir, options, progress, ct);
    }

    /// <summary>
    /// True when the folder has a cache whose header is readable, whose fingerprint matches the source files
    /// and (when given) whose options equal <paramref name="options"/>. The body is not checked here.
    /// </summary>
    public static bool IsCacheFresh(string dataDir, PrepareOptions? options = null)
    {
        var folder = DataFolder.Open(dataDir);
        string path = CachePath(dataDir);
        if (!File.Exists(path)) return false;
        try
        {
            var header = PreparedCache.ReadHeader(path);
            return header.Fingerprint == SourceFingerprint(folder) && (options is null || header.Options == options);
        }
        catch (DataFormatException) { return false; }
    }

    /// <summary>
    /// The preparation itself, from an in-memory log and a chunked feature source (also what tests and
    /// other layers use to build prepared data without files). <paramref name="categories"/> (one per item)
    /// selects the thacil profile. <paramref name="sourceName"/> names the log in errors.
    /// </summary>
    public static PreparedData FromLog(InteractionLog log, IFeatureRows features, int[]? categories, PrepareOptions options,
        string fingerprint = "", string sourceName = "the interaction log",
        IProgress<(string Stage, double Fraction)>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        if (log.Count == 0) throw new DataFormatException(sourceName, "no impressions; expected data rows after the header");
        if (features.Rows > int.MaxValue) throw new ArgumentException($"{features.Rows} feature rows; at most {int.MaxValue} items", nameof(features));
        int itemCount = (int)features.Rows;
        if (log.MaxItemIdPlusOne > itemCount)
            throw new DataFormatException(sourceName, $"item id {log.MaxItemIdPlusOne - 1} has no feature row (there are {itemCount})");
        if (categories is not null && categories.Length != itemCount)
            throw new ArgumentException($"{categories.Length} categories for {itemCount} items", nameof(categories));
        if (categories is not null && categories.Any(c => (uint)c >= (uint)itemCount))
            throw new ArgumentException($"category ids must be in 0..{itemCount - 1} (NativeFormat.ReadCategories refuses others)", nameof(categories));

        progress?.Report(("split", 0));
        var split = Splitter.Split(log);
        int n = log.Count, users = split.UserCount;
        var item = new int[n];
        var ts = new long[n];
        var flags = new byte[n];
        for (int p = 0; p < n; p++)
        {
            int i = split.Order[p];
            item[p] = log.Items[i];
            ts[p] = log.Timestamps[i];
            flags[p] = log.Flags(i);
        }
        progress?.Report(("split", 1));

        // SPEC D3: fit on the items of the train part (validation is part of it), sampled when many.
        var inTrain = new bool[itemCount];
        for (int p = 0; p < n; p++) if (split.Part[p] != SplitPart.Test) inTrain[item[p]] = true;
        var fitIds = Enumerable.Range(0, itemCount).Where(i => inTrain[i]).ToArray();
        if (fitIds.Length == 0)
            throw new DataFormatException(sourceName, "no impression falls in the train part, so there is nothing to fit the PCA on");
        progress?.Report(("pca-cov", 0));
        var fitSample = Pca.Sample(fitIds, options.MaxFitItems, options.Seed);
        var (mean, cov) = Pca.Covariance(features, fitSample, Stage(progress, "pca-cov"), ct);
        progress?.Report(("pca-eigen", 0));
        var pca = Pca.FromCovariance(mean, cov, fitSample.Length, options.Dims, options.Eigen, options.Seed, ct).WithScale(options.Scale);
        progress?.Report(("pca-eigen", 1));
        int dv = pca.OutputDim;
        var visual = new float[checked(itemCount * dv)];
        progress?.Report(("project", 0));
        Pca.Project(pca, features, visual, Stage(progress, "project"), ct);

        progress?.Report(("sequences", 0));
        var click = Sequences.Build(split.UserOffsets, item, ts, flags, clicked: true);
        var notClick = Sequences.Build(split.UserOffsets, item, ts, flags, clicked: false);
        var likes = Sequences.LikesFollows(split.UserOffsets, item, flags, split.Part);
        progress?.Report(("sequences", 1));

        progress?.Report(("edges", 0));
        var edgeProgress = Stage(progress, "edges");
        long clickWork = SquareSum(click.Offsets), notClickWork = SquareSum(notClick.Offsets), all = Math.Max(1, clickWork + notClickWork);
        var clickPred = TemporalGraph.BuildAll(click.Offsets, click.Item, visual, dv, options.TopL, options.Metric,
            new SyncProgress<double>(f => edgeProgress?.Report((double)clickWork * f / all)), ct);
        var notClickPred = TemporalGraph.BuildAll(notClick.Offsets, notClick.Item, visual, dv, options.TopL, options.Metric,
            new SyncProgress<double>(f => edgeProgress?.Report((clickWork + f * notClickWork) / all)), ct);

        int categoryCount = categories is null || categories.Length == 0 ? 0 : categories.Max() + 1;
        return new PreparedData
        {
            Profile = categories is null ? Profile.Kuaishou : Profile.Thacil,
            UserCount = users,
            ItemCount = itemCount,
            CategoryCount = categoryCount,
            TopL = options.TopL,
            Metric = options.Metric,
            Fingerprint = fingerprint,
            Options = options,
            Items = new ItemTable(visual, dv, categories, categoryCount),
            UserOffsets = split.UserOffsets,
            Item = item,
            Timestamp = ts,
            Flags = flags,
            Part = split.Part,
            ClickOffsets = click.Offsets,
            ClickItem = click.Item,
            ClickGraphPred = clickPred,
            NotClickOffsets = notClick.Offsets,
            NotClickItem = notClick.Item,
            NotClickGraphPred = notClickPred,
            ClickHistEnd = click.HistEnd,
            NotClickHistEnd = notClick.HistEnd,
            LikesFollows = likes,
        };
    }

    /// <summary>
    /// Identifies the source files of a data folder: for each of interactions.csv, items.npy and
    /// item_categories.csv (when present) its name, size, last-write time (UTC ticks) and a SHA-256 of its
    /// first and last MiB; all of it hashed with SHA-256 (hex). Cheap at any size; a copy that does not keep
    /// modification times re-prepares once.
    /// </summary>
    public static string SourceFingerprint(string dataDir) => SourceFingerprint(DataFolder.Open(dataDir));

    private static string SourceFingerprint(DataFolder folder)
    {
        using var all = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buf = new byte[1 << 20];
        foreach (string? path in new[] { folder.InteractionsPath, folder.ItemsPath, folder.CategoriesPath })
        {
            if (path is null) continue;
            var info = new FileInfo(path);
            all.AppendData(System.Text.Encoding.UTF8.GetBytes($"{info.Name}|{info.Length}|{info.LastWriteTimeUtc.Ticks}|"));
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            int got = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            all.AppendData(buf, 0, got);
            if (f.Length > buf.Length)
            {
                f.Position = Math.Max(buf.Length, f.Length - buf.Length);
                got = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
                all.AppendData(buf, 0, got);
            }
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }

    private static IProgress<double>? Stage(IProgress<(string, double)>? progress, string stage) =>
        progress is null ? null : new SyncProgress<double>(f => progress.Report((stage, f)));

    /// <summary>Reports synchronously on the caller's thread (<see cref="Progress{T}"/> posts to a context, so
    /// its reports could arrive after the stage ended).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static long SquareSum(int[] offsets)
    {
        long s = 0;
        for (int u = 0; u + 1 < offsets.Length; u++) { long t = offsets[u + 1] - offsets[u]; s += t * t; }
        return s;
    }
}
