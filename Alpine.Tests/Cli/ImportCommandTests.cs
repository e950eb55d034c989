using Alpine.Data;
using Alpine.Tests.Data;

namespace Alpine.Tests.Cli;

[TestFixture]
public class ImportCommandTests
{
    private string _dir = "";
    private string Out => Path.Combine(_dir, "out");

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    [Test]
    public void ImportsKuaiVideo()
    {
        var src = ImportFixtures.WriteKuai(_dir);
        Assert.That(Alpine.Cli.Program.Main(["import", "kuaivideo", src.Train, src.Test, src.H5, "--out", Out]), Is.Zero);
        Assert.That(DataFolder.Open(Out).LoadLog().Count, Is.EqualTo(5));
    }

    [Test]
    public void BadInputExitsWith2AndLeavesNoFolder()
    {
        var src = ImportFixtures.WriteThacil(_dir, train: "user_id,item_id,cate_id,is_click,timestamp\n9,4,70,1,10\n9,99,70,1,11\n");
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        int rc;
        try { rc = Alpine.Cli.Program.Main(["import", "thacil", src.Train, src.Test, src.Npy, "--out", Out]); }
        finally { Console.SetError(saved); }
        Assert.That(rc, Is.EqualTo(2));
        // progress lines come first; the error is the last line, whole
        string last = err.ToString().TrimEnd().Split('\n')[^1];
        Assert.That(last, Does.StartWith($"alpine import: {src.Train}:3: item_id 99 is beyond the feature rows"));
        Assert.That(Directory.GetDirectories(_dir), Is.Empty);
    }

    [Test]
    public void RefusesAnExistingOutUnlessForced()
    {
        var src = ImportFixtures.WriteThacil(_dir);
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "mine.txt"), "keep");
        string[] args = ["import", "thacil", src.Train, src.Test, src.Npy, "--out", Out];
        Assert.That(Alpine.Cli.Program.Main(args), Is.EqualTo(2));
        Assert.That(Directory.GetFiles(Out).Select(Path.GetFileName), Is.EqualTo(new[] { "mine.txt" }));
        Assert.That(Alpine.Cli.Program.Main([.. args, "--force"]), Is.EqualTo(2), "--force replaces a data folder only");
        Assert.That(Directory.GetFiles(Out).Select(Path.GetFileName), Is.EqualTo(new[] { "mine.txt" }));

        File.Delete(Path.Combine(Out, "mine.txt"));
        Assert.That(Alpine.Cli.Program.Main(args), Is.Zero);
        Assert.That(Alpine.Cli.Program.Main([.. args, "--force"]), Is.Zero);
        Assert.That(DataFolder.Open(Out).ItemCount, Is.EqualTo(3));
    }

    [Test]
    public void AFlagBeforeThePositionalsKeepsTheirOrder()
    {
        // --force once swallowed the next argument and appended it at the end: the files' roles shifted.
        var src = ImportFixtures.WriteThacil(_dir);
        Assert.That(Alpine.Cli.Program.Main(["import", "thacil", "--force", src.Train, src.Test, src.Npy, "--out", Out]), Is.Zero);
        Assert.That(Alpine.Cli.Program.Main(["import", "--force", "thacil", src.Train, src.Test, src.Npy, "--out", Out]), Is.Zero);
        Assert.That(DataFolder.Open(Out).ItemCount, Is.EqualTo(3));
        Assert.That(Alpine.Cli.Program.Main(["import", "thacil", "--force=yes", src.Train, src.Test, src.Npy, "--out", Out]), Is.EqualTo(2), "a flag takes no value");
    }

    [Test]
    public void CancellingAnImportLeavesNoFolder()
    {
        var src = ImportFixtures.WriteThacil(_dir);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => ThacilImporter.Import(src.Train, src.Test, src.Npy, Out, ct: cts.Token));
        var kuai = ImportFixtures.WriteKuai(Directory.CreateDirectory(Path.Combine(_dir, "kuai-src")).FullName);
        Assert.Throws<OperationCanceledException>(() => KuaiVideoImporter.Import(kuai.Train, kuai.Test, kuai.H5, Out, ct: cts.Token));
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "kuai-src" }), "no out folder, no temp folder");
    }

    [TestCase("import", "movielens", "a", "b", "c", "--out", "x")]
    [TestCase("import", "thacil", "a", "b", "--out", "x")]
    [TestCase("import", "thacil", "a", "b", "c")]
    [TestCase("import", "thacil", "a", "b", "c", "--out", "x", "--bogus")]
    public void BadUsageExitsWith2(params string[] args) => Assert.That(Alpine.Cli.Program.Main(args), Is.EqualTo(2));
}
