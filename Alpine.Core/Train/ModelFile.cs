using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Train;

/// <summary>The sizes a parameter buffer was laid out for; a loader checks them before trusting the floats.</summary>
public readonly record struct ModelShape(int UserCount, int CategoryCount, int ItemDim, int Hidden, int MlpHidden, int ParameterCount);

/// <summary>Where a run stands: enough to continue it exactly (SPEC D13) after <c>--resume</c>.</summary>
public sealed record TrainingProgress
{
    public required TrainOptions Options { get; init; }
    /// <summary>The epoch in progress, 0-based; equals the epochs completed when <see cref="BatchInEpoch"/> is 0.</summary>
    public int Epoch { get; init; }
    /// <summary>Batches of <see cref="Epoch"/> already trained.</summary>
    public int BatchInEpoch { get; init; }
    /// <summary>Adam steps taken (the next step is Step + 1).</summary>
    public long Step { get; init; }
    /// <summary>
    /// Σ batch loss × targets, targets and cell-steps since the last validation round (for the next round's log
    /// row; with <see cref="TrainOptions.EvalEvery"/> 0 a round ends each epoch, so these are the epoch's so far).
    /// </summary>
    public double RoundLossSum { get; init; }
    public long RoundTargets { get; init; }
    public long RoundCellSteps { get; init; }
    /// <summary>The best validation AUC_user so far, the epoch (1-based) its round fell in, validation rounds since.</summary>
    public double BestAucUser { get; init; } = double.NegativeInfinity;
    public int BestEpoch { get; init; }
    public int SinceBest { get; init; }
    /// <summary>True once early stopping ended the run (a resumed run with more epochs still stops).</summary>
    public bool EarlyStopped { get; init; }
    /// <summary>
    /// The backend the run trained on ("cpu", "gpu"): the CPU and GPU backends round differently, so a run is
    /// bit-identical to an uninterrupted one (SPEC D13) only when it resumes on the same one.
    /// </summary>
    public string Device { get; init; } = "";
}

/// <summary>Adam's moments and the run's position: what a checkpoint adds to a model file.</summary>
public sealed record CheckpointState(float[] M, float[] V, TrainingProgress Progress);

/// <summary>
/// The model file (<c>model.alp</c>) and checkpoint (<c>checkpoint.alp</c>) format, little-endian:
/// <code>
///   "ALPINEMF"  magic, 8 bytes
///   uint32      format version (<see cref="FormatVersion"/>)
///   uint32      kind: 1 model, 2 checkpoint
///   int64       payload length in bytes
///   payload     ModelConfig (every field), ModelShape, data-set fingerprint, PrepareOptions (v2), training BatchMode,
///               parameters[ParameterCount], and for checkpoints Adam m and v [ParameterCount each] and TrainingProgress
///               (with, since v2, the device it trained on; since v3, <c>--eval-every</c> last); since v5, last of
///               all, the PCA eigen method of the prepare options, and since v6 after it their feature scale
///   32 bytes    SHA-256 of the payload
/// </code>
/// Written atomically; a file that is truncated, corrupted or of another version, or whose config does not
/// give its parameter count, is refused naming it.
/// </summary>
public sealed class ModelFile
{
    /// <summary>
    /// 2: the prepare options joined the payload (a model is tied to the prepared data, not only its sources).
    /// 3: a checkpoint's options end with <see cref="TrainOptions.EvalEvery"/>.
    /// 4: then <see cref="TrainOptions.PieceOrder"/> and <see cref="TrainOptions.MinDelta"/>.
    /// 5: the payload ends with <see cref="PrepareOptions.Eigen"/>.
    /// 6: then <see cref="PrepareOptions.Scale"/>.
    /// Versions 2 to 5 still read (a model's payload is unchanged; a version 2 checkpoint's run validated once per
    /// epoch, EvalEvery 0; before version 4 pieces were chronological and any gain reset the patience, MinDelta 0;
    /// before version 5 the PCA took the full EVD; before version 6 its vectors were not scaled).
    /// </summary>
    public const uint FormatVersion = 6;
    private const uint OldestReadable = 2;
    private static ReadOnlySpan<byte> Magic => "ALPINEMF"u8;
    private const int HeaderSize = 8 + 4 + 4 + 8;
    private const int HashSize = 32;

    public required ModelConfig Config { get; init; }
    public required ModelShape Shape { get; init; }
    /// <summary>The prepared data set's fingerprint: a model only scores the data set it was trained on.</summary>
    public required string Fingerprint { get; init; }
    /// <summary>The options the data was prepared with: with <see cref="Fingerprint"/>, what the model was trained on.</summary>
    public required PrepareOptions Prepared { get; init; }
    /// <summary>How the model was trained (SPEC D12); scoring uses the same, since the modes differ beyond W items.</summary>
    public BatchMode Mode { get; init; } = BatchMode.SharedPrefix;
    public required float[] Parameters { get; init; }
    /// <summary>Null for a model file; Adam's state and the position for a checkpoint.</summary>
    public CheckpointState? Checkpoint { get; init; }

    public void Write(string path)
    {
        if (Parameters.Length != Shape.ParameterCount) throw new ArgumentException("parameter count differs from the shape");
        if (Checkpoint is { } c && (c.M.Length != Shape.ParameterCount || c.V.Length != Shape.ParameterCount))
            throw new ArgumentException("Adam moments differ in length from the parameters");

        var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            WriteConfig(w, Config);
            w.Write(Shape.UserCount); w.Write(Shape.CategoryCount); w.Write(Shape.ItemDim);
            w.Write(Shape.Hidden); w.Write(Shape.MlpHidden); w.Write(Shape.ParameterCount);
            w.Write(Fingerprint);
            w.Write(Prepared.TopL); w.Write((int)Prepared.Metric); w.Write(Prepared.Seed); w.Write(Prepared.Dims); w.Write(Prepared.MaxFitItems);
            w.Write((int)Mode);
            WriteFloats(w, Parameters);
            if (Checkpoint is { } cp)
            {
                WriteFloats(w, cp.M);
                WriteFloats(w, cp.V);
                WriteProgress(w, cp.Progress);
            }
            w.Write((int)Prepared.Eigen); // v5: after the rest, so that an older payload is this one less its tail
            w.Write((int)Prepared.Scale); // v6
        }
        var body = payload.GetBuffer().AsSpan(0, (int)payload.Length);

        var file = new byte[HeaderSize + body.Length + HashSize];
        Magic.CopyTo(file);
        BitConverter.TryWriteBytes(file.AsSpan(8), FormatVersion);
        BitConverter.TryWriteBytes(file.AsSpan(12), Checkpoint is null ? 1u : 2u);
        BitConverter.TryWriteBytes(file.AsSpan(16), (long)body.Length);
        body.CopyTo(file.AsSpan(HeaderSize));
        SHA256.HashData(body, file.AsSpan(HeaderSize + body.Length));
        AtomicFile.WriteAllBytes(path, file);
    }

    /// <summary>Reads and verifies a model or checkpoint file; any defect is a <see cref="DataFormatException"/> naming it.</summary>
    public static ModelFile Read(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "no such model file");
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < HeaderSize || !file.AsSpan(0, 8).SequenceEqual(Magic))
            throw new DataFormatException(path, "not an Alpine model file (bad magic)");
        uint version = BitConverter.ToUInt32(file, 8);
        if (version is < OldestReadable or > FormatVersion)
            throw new DataFormatException(path, $"model format version {version}, this build reads versions {OldestReadable} to {FormatVersion}: retrain it with this build");
        uint kind = BitConverter.ToUInt32(file, 12);
        long bodyLength = BitConverter.ToInt64(file, 16);
        if (kind is not (1 or 2)) throw new DataFormatException(path, $"corrupted: unknown file kind {kind}");
        if (bodyLength < 0 || file.Length != HeaderSize + bodyLength + HashSize)
            throw new DataFormatException(path, $"truncated or padded: expected {HeaderSize + bodyLength + HashSize} bytes, found {file.Length}");
        var body = file.AsSpan(HeaderSize, (int)bodyLength);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(file.AsSpan(HeaderSize + (int)bodyLength, HashSize)))
            throw new DataFormatException(path, "corrupted: checksum mismatch");

        try
        {
            using var r = new BinaryReader(new MemoryStream(file, HeaderSize, (int)bodyLength), Encoding.UTF8);
            var config = ReadConfig(r);
            var shape = new ModelShape(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
            string fingerprint = r.ReadString();
            var prepared = new PrepareOptions { TopL = r.ReadInt32(), Metric = ReadEnum<EdgeMetric>(r), Seed = r.ReadInt32(), Dims = r.ReadInt32(), MaxFitItems = r.ReadInt32() };
            var mode = ReadEnum<BatchMode>(r);
            var parameters = ReadFloats(r, shape.ParameterCount);
            CheckpointState? cp = null;
            if (kind == 2)
            {
                var m = ReadFloats(r, shape.ParameterCount);
                var v = ReadFloats(r, shape.ParameterCount);
                cp = new CheckpointState(m, v, ReadProgress(r, version));
            }
            prepared = prepared with
            {
                Eigen = version >= 5 ? ReadEnum<PcaEigen>(r) : PcaEigen.Full,
                Scale = version >= 6 ? ReadEnum<FeatureScale>(r) : FeatureScale.None,
            };
            if (r.BaseStream.Position != r.BaseStream.Length) throw new InvalidDataException("bytes left after the payload");
            RequireConsistent(path, config, shape, prepared);
            return new ModelFile { Config = config, Shape = shape, Fingerprint = fingerprint, Prepared = prepared, Mode = mode, Parameters = parameters, Checkpoint = cp };
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new DataFormatException(path, $"corrupted payload ({e.Message})", e);
        }
    }

    /// <summary>
    /// The config must be valid and lay out exactly the stored parameters: a file whose layout changed without a
    /// <see cref="FormatVersion"/> bump is refused here, not by a backend deep inside.
    /// </summary>
    private static void RequireConsistent(string path, ModelConfig config, ModelShape shape, PrepareOptions prepared)
    {
        try { config.Validate(); prepared.Validate(); }
        catch (UsageException e) { throw new DataFormatException(path, $"invalid config ({e.Message})", e); }
        if (config.TopL != prepared.TopL) throw new DataFormatException(path, $"invalid config: top-L {config.TopL}, prepared with top-L {prepared.TopL}");
        if (shape.UserCount < 0 || shape.CategoryCount < 0 || (shape.ItemDim, shape.Hidden, shape.MlpHidden) != (config.ItemDim, config.HiddenSize, config.MlpHidden))
            throw new DataFormatException(path, $"its shape {shape} does not match its config (D={config.ItemDim} H={config.HiddenSize} M={config.MlpHidden})");
        long size = ModelLayout.Create(config, shape.UserCount, shape.CategoryCount).Size;
        if (size != shape.ParameterCount)
            throw new DataFormatException(path, $"its config lays out {size} parameters, the file holds {shape.ParameterCount}: it was written by another build; retrain it");
    }

    /// <summary>
    /// Refuses a model trained on other data than <paramref name="data"/> (SPEC D1: a model's scores mean nothing
    /// elsewhere): other source files, other prepare options (top-L, metric, PCA seed: other edges or features),
    /// another profile or user/category count. Evaluate, rank and resume all go through here.
    /// </summary>
    public void RequireMatches(PreparedData data, string path, string dataDir)
    {
        if (Fingerprint != data.Fingerprint)
            throw new DataFormatException(path, $"was trained on another data set (fingerprint {Fingerprint}), not the one in {dataDir} ({data.Fingerprint})");
        if (Prepared != data.Options)
            throw new DataFormatException(path, $"was trained on {dataDir} prepared with {Prepared.Flags()}, but it is now prepared with {data.Options.Flags()}; " +
                $"run 'alpine prepare --data {dataDir} {Prepared.Flags()}' or train a new model");
        if (Config.Profile != data.Profile || Shape.UserCount != data.UserCount || Shape.CategoryCount != data.CategoryCount
            || Config.VisualDim != data.Items.VisualDim)
            throw new DataFormatException(path, $"its shape ({Config.Profile}, {Shape.UserCount} users, {Shape.CategoryCount} categories, {Config.VisualDim}-d) " +
                $"differs from {dataDir} ({data.Profile}, {data.UserCount} users, {data.CategoryCount} categories, {data.Items.VisualDim}-d)");
    }

    private static void WriteFloats(BinaryWriter w, float[] values) => w.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    private static float[] ReadFloats(BinaryReader r, int count)
    {
        if (count < 0 || (long)count * 4 > r.BaseStream.Length - r.BaseStream.Position)
            throw new InvalidDataException($"{count} floats do not fit in the file");
        var values = new float[count];
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        // Training never writes a non-finite value (the loss guard stops first), so one means damage behind a valid checksum.
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new InvalidDataException($"value {i} of {count} is {values[i]}, not a finite number");
        return values;
    }

    private static void WriteConfig(BinaryWriter w, ModelConfig c)
    {
        w.Write((int)c.Profile); w.Write((int)c.Variant);
        w.Write(c.VisualDim); w.Write(c.CategoryDim); w.Write(c.Hidden); w.Write(c.MlpHidden);
        w.Write(c.TopL); w.Write(c.Window);
        w.Write((int)c.CStar); w.Write((int)c.Attention); w.Write((int)c.UserInit);
        w.Write(c.LikeWeight); w.Write(c.FollowWeight);
        w.Write(c.Alphas?.Length ?? -1);
        foreach (float a in c.Alphas ?? []) w.Write(a);
        w.Write(c.L2);
    }

    private static ModelConfig ReadConfig(BinaryReader r)
    {
        var c = new ModelConfig
        {
            Profile = ReadEnum<Profile>(r), Variant = ReadEnum<Variant>(r),
            VisualDim = r.ReadInt32(), CategoryDim = r.ReadInt32(), Hidden = r.ReadInt32(), MlpHidden = r.ReadInt32(),
            TopL = r.ReadInt32(), Window = r.ReadInt32(),
            CStar = ReadEnum<CStarReading>(r), Attention = ReadEnum<AttentionKind>(r), UserInit = ReadEnum<UserInit>(r),
            LikeWeight = r.ReadSingle(), FollowWeight = r.ReadSingle(),
        };
        int alphas = r.ReadInt32();
        if (alphas is < -1 or > 3) throw new InvalidDataException($"{alphas} fusion weights");
        float[]? a = alphas < 0 ? null : Enumerable.Range(0, alphas).Select(_ => r.ReadSingle()).ToArray();
        return c with { Alphas = a, L2 = r.ReadSingle() };
    }

    private static void WriteProgress(BinaryWriter w, TrainingProgress p)
    {
        var o = p.Options;
        w.Write((int)o.Mode); w.Write(o.Epochs); w.Write(o.Patience); w.Write(o.BatchSize); w.Write(o.PieceSize); w.Write(o.Seed);
        w.Write(o.Adam.LearningRate); w.Write(o.Adam.Beta1); w.Write(o.Adam.Beta2); w.Write(o.Adam.Epsilon); w.Write(o.Adam.ClipNorm);
        w.Write(p.Epoch); w.Write(p.BatchInEpoch); w.Write(p.Step);
        w.Write(p.RoundLossSum); w.Write(p.RoundTargets); w.Write(p.RoundCellSteps);
        w.Write(p.BestAucUser); w.Write(p.BestEpoch); w.Write(p.SinceBest); w.Write(p.EarlyStopped); w.Write(p.Device);
        w.Write(o.EvalEvery); // v3: so a version 2 payload is this one without the rest
        w.Write((int)o.PieceOrder); w.Write(o.MinDelta); // v4
    }

    private static TrainingProgress ReadProgress(BinaryReader r, uint version)
    {
        var options = new TrainOptions
        {
            Mode = ReadEnum<BatchMode>(r), Epochs = r.ReadInt32(), Patience = r.ReadInt32(), BatchSize = r.ReadInt32(), PieceSize = r.ReadInt32(), Seed = r.ReadInt32(),
            Adam = new AdamSettings(r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadSingle()),
        };
        var p = new TrainingProgress
        {
            Options = options,
            Epoch = r.ReadInt32(), BatchInEpoch = r.ReadInt32(), Step = r.ReadInt64(),
            RoundLossSum = r.ReadDouble(), RoundTargets = r.ReadInt64(), RoundCellSteps = r.ReadInt64(),
            BestAucUser = r.ReadDouble(), BestEpoch = r.ReadInt32(), SinceBest = r.ReadInt32(), EarlyStopped = r.ReadBoolean(),
            Device = r.ReadString(),
        };
        // Older checkpoints: validated once per epoch (EvalEvery 0), chronological pieces, any gain counted (MinDelta 0).
        options = options with { MinDelta = 0, PieceOrder = PieceOrder.Chronological };
        if (version >= 3)
        {
            int evalEvery = r.ReadInt32();
            if (evalEvery < 0) throw new InvalidDataException($"eval-every {evalEvery}");
            options = options with { EvalEvery = evalEvery };
        }
        if (version >= 4)
        {
            var order = ReadEnum<PieceOrder>(r);
            float minDelta = r.ReadSingle();
            if (!(minDelta >= 0)) throw new InvalidDataException($"min-delta {minDelta}");
            options = options with { PieceOrder = order, MinDelta = minDelta };
        }
        return p with { Options = options };
    }

    private static T ReadEnum<T>(BinaryReader r) where T : struct, Enum
    {
        int v = r.ReadInt32();
        return Enum.IsDefined(typeof(T), v) ? (T)(object)v : throw new InvalidDataException($"{typeof(T).Name} value {v}");
    }
}
