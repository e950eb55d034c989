using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Tests.Train;

[TestFixture]
public class ModelFileTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    /// <summary>A model file whose config lays out <c>ParameterCount</c> parameters (plus <paramref name="extra"/>).</summary>
    private static ModelFile Sample(bool checkpoint, int extra = 0)
    {
        var rng = new Random(5);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var config = new ModelConfig
        {
            Profile = Profile.Thacil, Variant = Variant.U, VisualDim = 6, CategoryDim = 3, Hidden = 5, MlpHidden = 7,
            TopL = 2, Window = 11, CStar = CStarReading.Carried, Attention = AttentionKind.Bilinear, UserInit = UserInit.Sum,
            LikeWeight = 0.3f, FollowWeight = 0.7f, Alphas = [0.5f, 0.25f, 0.25f], L2 = 1e-4f,
        };
        var progress = new TrainingProgress
        {
            Options = new TrainOptions { Mode = BatchMode.Window, Epochs = 4, Patience = 3, BatchSize = 17, PieceSize = 5, PieceOrder = PieceOrder.Scattered, MinDelta = 0.002f, Seed = 9, EvalEvery = 13, Adam = new AdamSettings(2e-3f, 0.8f, 0.99f, 1e-7f, 0f) },
            Epoch = 2, BatchInEpoch = 3, Step = 41, RoundLossSum = 12.5, RoundTargets = 51, RoundCellSteps = 999,
            BestAucUser = 0.61, BestEpoch = 2, SinceBest = 1, EarlyStopped = false, Device = "gpu",
        };
        int n = ModelLayout.Create(config, 4, 3).Size + extra;
        return new ModelFile
        {
            Config = config,
            Shape = new ModelShape(UserCount: 4, CategoryCount: 3, ItemDim: 9, Hidden: 5, MlpHidden: 7, ParameterCount: n),
            Fingerprint = "abc123",
            Prepared = new PrepareOptions { TopL = 2, Metric = EdgeMetric.Cosine, Seed = 5, Scale = FeatureScale.Unit },
            Mode = BatchMode.Window,
            Parameters = Rand(n),
            Checkpoint = checkpoint ? new CheckpointState(Rand(n), Rand(n), progress) : null,
        };
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RoundTripsEveryField(bool checkpoint)
    {
        var f = Sample(checkpoint);
        string path = Path.Combine(_dir, "m.alp");
        f.Write(path);
        var back = ModelFile.Read(path);
        Assert.That(back.Config, Is.EqualTo(f.Config with { Alphas = back.Config.Alphas }), "every config field");
        Assert.That(back.Config.Alphas, Is.EqualTo(f.Config.Alphas));
        Assert.That(back.Shape, Is.EqualTo(f.Shape));
        Assert.That(back.Fingerprint, Is.EqualTo(f.Fingerprint));
        Assert.That(back.Prepared, Is.EqualTo(new PrepareOptions { TopL = 2, Metric = EdgeMetric.Cosine, Seed = 5, Scale = FeatureScale.Unit }));
        Assert.That(back.Mode, Is.EqualTo(BatchMode.Window));
        Assert.That(back.Parameters, Is.EqualTo(f.Parameters));
        if (!checkpoint) { Assert.That(back.Checkpoint, Is.Null); return; }
        Assert.That(back.Checkpoint!.M, Is.EqualTo(f.Checkpoint!.M));
        Assert.That(back.Checkpoint.V, Is.EqualTo(f.Checkpoint.V));
        Assert.That(back.Checkpoint.Progress, Is.EqualTo(f.Checkpoint.Progress));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temp file left behind");
    }

    [Test]
    public void NullAlphasStayNull()
    {
        var f = Sample(false);
        var config = f.Config with { Alphas = null }; // variant U of thacil: α3 = 0, so no user matrix and fewer parameters
        int n = ModelLayout.Create(config, f.Shape.UserCount, f.Shape.CategoryCount).Size;
        f = new ModelFile { Config = config, Shape = f.Shape with { ParameterCount = n }, Fingerprint = f.Fingerprint, Prepared = f.Prepared, Parameters = new float[n] };
        string path = Path.Combine(_dir, "m.alp");
        f.Write(path);
        Assert.That(ModelFile.Read(path).Config.Alphas, Is.Null);
    }

    [Test]
    public void RefusesATruncatedFileNamingIt()
    {
        string path = Path.Combine(_dir, "m.alp");
        Sample(true).Write(path);
        using (var fs = new FileStream(path, FileMode.Open)) fs.SetLength(fs.Length - 5);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("truncated"));
    }

    [TestCase(30)]   // inside the config
    [TestCase(200)]  // inside the parameters
    [TestCase(-3)]   // inside the checksum
    public void RefusesAFlippedByteNamingIt(int at)
    {
        string path = Path.Combine(_dir, "m.alp");
        Sample(true).Write(path);
        var bytes = File.ReadAllBytes(path);
        int i = at >= 0 ? at : bytes.Length + at;
        bytes[i] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("checksum"));
    }

    [Test]
    public void RefusesAnotherFormatVersionInOneLine()
    {
        string path = Path.Combine(_dir, "m.alp");
        Sample(false).Write(path);
        var bytes = File.ReadAllBytes(path);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), ModelFile.FormatVersion + 1);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.Contain($"version {ModelFile.FormatVersion + 1}").And.Not.Contain("\n"));
    }

    [TestCase(2u, false)]
    [TestCase(2u, true)]
    [TestCase(3u, false)]
    [TestCase(3u, true)]
    [TestCase(4u, false)]
    [TestCase(4u, true)]
    [TestCase(5u, false)]
    [TestCase(5u, true)]
    public void ReadsOlderVersionsWithTheOptionsTheyTrainedUnder(uint version, bool checkpoint)
    {
        // A checkpoint's options end with EvalEvery (int32, v3), then PieceOrder (int32) and MinDelta (float32, v4):
        // an older file is this one less its tail, built by hand.
        var f = Sample(checkpoint);
        string path = Path.Combine(_dir, "m.alp");
        f.Write(path);
        var bytes = File.ReadAllBytes(path);
        Assert.That(BitConverter.ToUInt32(bytes, 8), Is.EqualTo(ModelFile.FormatVersion));
        const int header = 24;
        var payload = bytes[header..^32];
        Assert.That(BitConverter.ToInt32(payload, payload.Length - 4), Is.EqualTo((int)f.Prepared.Scale), "the feature scale ends the payload (v6)");
        Assert.That(BitConverter.ToInt32(payload, payload.Length - 8), Is.EqualTo((int)f.Prepared.Eigen), "after the PCA eigen method (v5)");
        payload = payload[..^(version == 5 ? 4 : 8)];
        if (checkpoint && version < 5)
        {
            Assert.That(BitConverter.ToSingle(payload, payload.Length - 4), Is.EqualTo(0.002f), "MinDelta ends the payload");
            Assert.That(BitConverter.ToInt32(payload, payload.Length - 8), Is.EqualTo((int)PieceOrder.Scattered));
            Assert.That(BitConverter.ToInt32(payload, payload.Length - 12), Is.EqualTo(13), "then EvalEvery");
            payload = payload[..^(version switch { 4 => 0, 3 => 8, _ => 12 })];
        }
        var old = new byte[header + payload.Length + 32];
        bytes.AsSpan(0, header).CopyTo(old);
        BitConverter.TryWriteBytes(old.AsSpan(8), version);
        BitConverter.TryWriteBytes(old.AsSpan(16), (long)payload.Length);
        payload.CopyTo(old.AsSpan(header));
        System.Security.Cryptography.SHA256.HashData(payload, old.AsSpan(header + payload.Length));
        File.WriteAllBytes(path, old);

        var back = ModelFile.Read(path);
        Assert.That(back.Parameters, Is.EqualTo(f.Parameters));
        Assert.That(back.Prepared, Is.EqualTo(f.Prepared with { Eigen = version == 5 ? f.Prepared.Eigen : PcaEigen.Full, Scale = FeatureScale.None }),
            "before v5 the PCA took the full EVD; before v6 its vectors were not scaled");
        if (!checkpoint) { Assert.That(back.Checkpoint, Is.Null); return; }
        var p = f.Checkpoint!.Progress;
        var o = version >= 4 ? p.Options : p.Options with { PieceOrder = PieceOrder.Chronological, MinDelta = 0, EvalEvery = version == 3 ? 13 : 0 };
        Assert.That(back.Checkpoint!.Progress, Is.EqualTo(p with { Options = o }));
    }

    [Test]
    public void RefusesVersion1InOneLine()
    {
        string path = Path.Combine(_dir, "m.alp");
        Sample(false).Write(path);
        var bytes = File.ReadAllBytes(path);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), 1u);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("version 1").And.Contain("retrain").And.Not.Contain("\n"));
    }

    [Test]
    public void RefusesAFileThatIsNotAModel()
    {
        string path = Path.Combine(_dir, "m.alp");
        File.WriteAllText(path, "user_id,item_id\n1,2\n");
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("not an Alpine model"));
    }

    [Test]
    public void RefusesAParameterCountItsConfigDoesNotLayOut()
    {
        // A layout change without a format-version bump: the floats are intact, the config gives another count.
        string path = Path.Combine(_dir, "m.alp");
        Sample(false, extra: 3).Write(path);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("parameters").And.Contain("retrain").And.Not.Contain("\n"));
    }

    [Test]
    public void RefusesAModelOfOtherSourcesOrOtherPrepareOptionsOrShape()
    {
        var log = TinyData.Log(3, users: 5, maxPerUser: 20);
        var data = TinyData.Prepare(log, TinyData.Features(3));
        using var backend = TinyData.Backend(data, TinyData.Config());
        var f = Trainer.Snapshot(backend, data, BatchMode.SharedPrefix, null);
        Assert.DoesNotThrow(() => f.RequireMatches(data, "m.alp", "data"));

        var other = TinyData.Prepare(log, TinyData.Features(3), fingerprint: "other");
        var e = Assert.Throws<DataFormatException>(() => f.RequireMatches(other, "m.alp", "data"))!;
        Assert.That(e.Message, Does.StartWith("m.alp").And.Contain("another data set").And.Not.Contain("\n"));

        // Same sources, prepared with another metric (other graph edges): refused, naming the options to prepare with.
        var cosine = TinyData.Prepare(log, TinyData.Features(3), options: new PrepareOptions { Metric = EdgeMetric.Cosine });
        e = Assert.Throws<DataFormatException>(() => f.RequireMatches(cosine, "m.alp", "data"))!;
        Assert.That(e.Message, Does.Contain("--metric cosine").And.Contain("alpine prepare --data data --top-l 1 --metric euclidean --seed 1").And.Not.Contain("\n"));

        // Same sources, PCA by the full EVD instead of randomized subspace iteration: refused, naming the flag.
        var full = TinyData.Prepare(log, TinyData.Features(3), options: new PrepareOptions { Eigen = PcaEigen.Full });
        e = Assert.Throws<DataFormatException>(() => f.RequireMatches(full, "m.alp", "data"))!;
        Assert.That(e.Message, Does.Contain("--pca full").And.Not.Contain("\n"));

        // Same sources, PCA vectors left at the features' own scale: refused, naming the flag.
        var unscaled = TinyData.Prepare(log, TinyData.Features(3), options: new PrepareOptions { Scale = FeatureScale.None });
        e = Assert.Throws<DataFormatException>(() => f.RequireMatches(unscaled, "m.alp", "data"))!;
        Assert.That(e.Message, Does.Contain("--scale none").And.Not.Contain("\n"));

        // Same sources and options, but the model's shape was made for more users.
        var wider = new ModelFile { Config = f.Config, Shape = f.Shape with { UserCount = f.Shape.UserCount + 1 }, Fingerprint = f.Fingerprint, Prepared = f.Prepared, Parameters = f.Parameters };
        e = Assert.Throws<DataFormatException>(() => wider.RequireMatches(data, "m.alp", "data"))!;
        Assert.That(e.Message, Does.Contain($"{data.UserCount + 1} users").And.Not.Contain("\n"));
    }

    [Test]
    public void RewritingReplacesTheFileWhole()
    {
        string path = Path.Combine(_dir, "m.alp");
        Sample(true).Write(path);
        var small = Sample(false);
        small.Write(path);
        Assert.That(ModelFile.Read(path).Checkpoint, Is.Null);
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1));
    }

    [TestCase(false, float.NaN)]
    [TestCase(true, float.PositiveInfinity)]
    public void RefusesANonFiniteParameterUnderAValidChecksum(bool checkpoint, float bad)
    {
        var f = Sample(checkpoint);
        f.Parameters[3] = bad;
        string path = Path.Combine(_dir, "m.alp");
        f.Write(path);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain("value 3 of").And.Contain("not a finite number"));
    }
}
