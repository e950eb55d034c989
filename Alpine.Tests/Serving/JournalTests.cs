using Alpine.Data;
using Alpine.Serving;

namespace Alpine.Tests.Serving;

[TestFixture]
public class JournalTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = Path.Combine(TestDirs.Create(), "serving");
    [TearDown] public void TearDown() => TestDirs.Delete(Path.GetDirectoryName(_dir)!);

    private string LogPath => Path.Combine(_dir, Journal.FileName);

    /// <summary>Observes <paramref name="n"/> impressions of random users into a journaled model; returns them.</summary>
    private static List<Observation> Stream(AlpineModel m, int n, int seed)
    {
        var rng = new Random(seed);
        long clock = ServedModels.After(m.Data) + 1000L * seed;
        var list = new List<Observation>();
        for (int i = 0; i < n; i++)
        {
            var o = ServedModels.Next(m, rng.Next(m.UserCount), rng, ref clock);
            m.Observe(o);
            list.Add(o);
        }
        return list;
    }

    private static float[][] Scores(AlpineModel m) => [.. Enumerable.Range(0, m.UserCount).Select(u => m.Score(u, [0, 5, 9, 33]))];

    [Test]
    public void ReopeningReplaysEveryObservationToTheSameStates()
    {
        float[][] expected;
        using (var m = ServedModels.Create(servingDir: _dir))
        {
            Stream(m, 40, 1);
            expected = Scores(m);
        }
        using var again = ServedModels.Create(servingDir: _dir);
        Assert.That(again.ObservedCount, Is.EqualTo(40));
        Assert.That(again.Warnings, Is.Empty);
        Assert.That(Scores(again), Is.EqualTo(expected));
        // docs/FORMATS.md: magic (8), version (4), fingerprint length (4) and bytes, then the fixed-size records.
        Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(8 + 4 + 4 + "tiny".Length + 40L * Journal.RecordSize));
    }

    [Test]
    public void OsSyncedObservationsReplayAsDiskSyncedOnes()
    {
        var (data, c, p) = ServedModels.Tiny();
        float[][] expected;
        using (var m = AlpineModel.Create(data, c, p, servingDir: _dir, threads: 1, sync: JournalSync.Os))
        {
            Stream(m, 25, 3);
            expected = Scores(m);
        }
        using var again = ServedModels.Create(servingDir: _dir);
        Assert.That(again.ObservedCount, Is.EqualTo(25));
        Assert.That(Scores(again), Is.EqualTo(expected));
        Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(8 + 4 + 4 + "tiny".Length + 25L * Journal.RecordSize));
    }

    [TestCase(7)]
    [TestCase(Journal.RecordSize)]
    public void ATornLastRecordIsDroppedWithAWarningAndAppendsGoOnAfterTheGoodOnes(int tornBytes)
    {
        using (var m = ServedModels.Create(servingDir: _dir)) Stream(m, 5, 2);
        long good = new FileInfo(LogPath).Length;
        using (var f = new FileStream(LogPath, FileMode.Append)) f.Write(Enumerable.Repeat((byte)0x5A, tornBytes).ToArray());
        using (var m = ServedModels.Create(servingDir: _dir))
        {
            Assert.That(m.ObservedCount, Is.EqualTo(5));
            Assert.That(m.Warnings.Single(), Does.Contain($"byte {good}").And.Contain("torn"));
            Stream(m, 1, 3);
        }
        using var last = ServedModels.Create(servingDir: _dir);
        Assert.That(last.ObservedCount, Is.EqualTo(6), "the append after the cut is read back");
        Assert.That(last.Warnings, Is.Empty);
    }

    [Test]
    public void ADamagedRecordWithRecordsAfterItIsRefusedNamingItsOffset()
    {
        using (var m = ServedModels.Create(servingDir: _dir)) Stream(m, 4, 4);
        long header = new FileInfo(LogPath).Length - 4L * Journal.RecordSize;
        var bytes = File.ReadAllBytes(LogPath);
        bytes[header + Journal.RecordSize + 9] ^= 0x01;   // the second record's item id
        File.WriteAllBytes(LogPath, bytes);
        var e = Assert.Throws<DataFormatException>(() => ServedModels.Create(servingDir: _dir))!;
        Assert.That(e.Message, Does.Contain($"byte {header + Journal.RecordSize}").And.Contain(Journal.FileName));
        // Refused, and the lock went with it: fixing the file lets the folder open.
        bytes[header + Journal.RecordSize + 9] ^= 0x01;
        File.WriteAllBytes(LogPath, bytes);
        using var m2 = ServedModels.Create(servingDir: _dir);
        Assert.That(m2.ObservedCount, Is.EqualTo(4));
    }

    [Test]
    public void ASecondWriterOfOneServingFolderIsRefused()
    {
        using var first = ServedModels.Create(servingDir: _dir);
        var e = Assert.Throws<UsageException>(() => ServedModels.Create(servingDir: _dir))!;
        Assert.That(e.Message, Does.Contain("serving folder"));
        Stream(first, 2, 5);
        Assert.That(first.ObservedCount, Is.EqualTo(2), "the first writer goes on");
    }

    [Test]
    public void AJournalOfAnotherDataSetIsRefused()
    {
        using (var m = ServedModels.Create(servingDir: _dir)) Stream(m, 2, 6);
        var (data, c, p) = ServedModels.Tiny(fingerprint: "another");
        var e = Assert.Throws<DataFormatException>(() => AlpineModel.Create(data, c, p, servingDir: _dir))!;
        Assert.That(e.Message, Does.Contain("another data set"));
    }

    [Test]
    public void ARefusedObservationIsNotJournaled()
    {
        using (var m = ServedModels.Create(servingDir: _dir))
        {
            Stream(m, 3, 7);
            Assert.Throws<ServingInputException>(() => m.Observe(new Observation(0, 1, long.MinValue, true)));
            Assert.Throws<ServingInputException>(() => m.Observe(new Observation(0, m.ItemCount, long.MaxValue, true)));
        }
        using var again = ServedModels.Create(servingDir: _dir);
        Assert.That(again.ObservedCount, Is.EqualTo(3));
    }
}
