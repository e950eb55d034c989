using System.Diagnostics;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Tests.Data;
using Alpine.Tests.Train;
using Alpine.Train;
using Spectre.Console;

namespace Alpine.Tests.Cli;

/// <summary>
/// The data commands (prepare, stats, generate, import) on inputs that once crashed them or misled: the
/// largest id, sparse and 1-based ids, huge features, binary files, outputs that cannot be written.
/// </summary>
[TestFixture]
public class DataCommandReliabilityTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();

    [TearDown]
    public void TearDown()
    {
        ReadOnlyFolder.Restore(_dir);
        TestDirs.Delete(_dir);
    }

    private string Data => Path.Combine(_dir, "data");
    private string Interactions => Path.Combine(Data, NativeFormat.InteractionsFile);

    /// <summary>A dense native folder of 8 users and 40 items (8-d features).</summary>
    private void WriteData(Func<int, int, float>? feature = null)
    {
        Directory.CreateDirectory(Data);
        NativeFormat.WriteInteractions(Interactions, TinyData.Log(seed: 4, users: 8, maxPerUser: 30));
        ImportFixtures.WriteNpy(Path.Combine(Data, NativeFormat.ItemsFile), 40, TinyData.FeatureDim,
            feature ?? ((r, c) => MathF.Sin(r * 7 + c)));
    }

    /// <summary>Rewrites the user id of every data line through <paramref name="map"/>.</summary>
    private void ReplaceUser(Func<int, int> map)
    {
        var lines = File.ReadAllLines(Interactions);
        for (int i = 1; i < lines.Length; i++)
        {
            int comma = lines[i].IndexOf(',');
            lines[i] = map(int.Parse(lines[i][..comma])) + lines[i][comma..];
        }
        File.WriteAllText(Interactions, string.Join("\n", lines) + "\n");
    }

    /// <summary>Runs the CLI with Spectre's output and stderr captured.</summary>
    private static (int Rc, string Out, string Err) Run(params string[] args)
    {
        var saved = AnsiConsole.Console;
        var savedOut = Console.Out;
        var savedErr = Console.Error;
        var outText = new StringWriter();
        var errText = new StringWriter();
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(outText), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });
        Console.SetOut(outText);
        Console.SetError(errText);
        try { return (Alpine.Cli.Program.Main(args), outText.ToString(), errText.ToString()); }
        finally { AnsiConsole.Console = saved; Console.SetOut(savedOut); Console.SetError(savedErr); }
    }

    /// <summary>Exit 2 with one line on stderr that starts with the command and mentions each of <paramref name="mentions"/>.</summary>
    private static void AssertOneLineError((int Rc, string Out, string Err) r, string command, params string[] mentions)
    {
        Assert.That(r.Rc, Is.EqualTo(2), r.Err);
        string err = r.Err.TrimEnd('\n');
        Assert.That(err, Does.StartWith($"alpine {command}: ").And.Not.Contain("\n").And.Not.Contain("Exception"));
        foreach (string m in mentions) Assert.That(err, Does.Contain(m));
    }

    private void AssertNoCache() =>
        Assert.That(Directory.EnumerateFileSystemEntries(Data).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { NativeFormat.InteractionsFile, NativeFormat.ItemsFile }), "nothing written beside the data");

    [Test]
    public void TheLargestIdIsRefusedAsNotDenseNotACrash()
    {
        WriteData();
        ReplaceUser(u => u == 7 ? int.MaxValue : u);
        var r = Run("prepare", "--data", Data);
        AssertOneLineError(r, "prepare", Interactions, "not dense", "2147483647", "user 7 has no impression");
        AssertNoCache();
        AssertOneLineError(Run("stats", "--data", Data), "stats", "not dense");
    }

    [Test]
    public void ASparseUserIdIsRefusedAtOnceWithoutSizingAnythingByIt()
    {
        WriteData();
        ReplaceUser(u => u == 3 ? 100_000_000 : u);
        var clock = Stopwatch.StartNew();
        var r = Run("prepare", "--data", Data);
        AssertOneLineError(r, "prepare", "not dense", "100000000", "user 3 has no impression", "renumber");
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(10), "refused, not laid out");
        AssertNoCache();
    }

    [Test]
    public void OneBasedIdsAreRefusedWithTheHintToSubtractOne()
    {
        WriteData();
        ReplaceUser(u => u + 1);
        AssertOneLineError(Run("prepare", "--data", Data), "prepare", "user 0 has no impression", "counted from 1", "subtract 1");
        AssertOneLineError(Run("stats", "--data", Data), "stats", "user 0 has no impression");
        AssertNoCache();
    }

    [Test]
    public void PrepareStatsAndTrainAgreeOnTheCounts()
    {
        WriteData();
        // Items 38 and 39 never shown: both commands say 40 feature rows and the same, smaller, number of items.
        var lines = File.ReadAllLines(Interactions);
        File.WriteAllLines(Interactions, lines.Select((l, i) => i == 0 ? l : System.Text.RegularExpressions.Regex.Replace(l, "^(\\d+),3[89],", "$1,5,")));
        var prep = Run("prepare", "--data", Data);
        Assert.That(prep.Rc, Is.Zero, prep.Err);
        var shown = System.Text.RegularExpressions.Regex.Match(prep.Out, @"prepared 8 users, 40 feature rows, (\d+) items");
        Assert.That(shown.Success, prep.Out);
        Assert.That(int.Parse(shown.Groups[1].Value), Is.LessThanOrEqualTo(38));
        var stats = Run("stats", "--data", Data);
        Assert.That(stats.Out, Does.Match(@"# users\s*│\s*8\s").And.Match($@"# items\s*│\s*{shown.Groups[1].Value}\s")
            .And.Match(@"feature rows, shown or not\)\s*│\s*40\s"));
        string run = Path.Combine(_dir, "run");
        var train = Run("train", "--data", Data, "--out", run, "--epochs", "1", "--batch", "64");
        Assert.That(train.Rc, Is.Zero, train.Err);
        Assert.That(ModelFile.Read(Path.Combine(run, "model.alp")).Shape.UserCount, Is.EqualTo(8));
    }

    [TestCase(false, 3.4e38f, "column 3 holds 3.4E+38")]
    [TestCase(true, 1e30f, "column 0 holds 1E+30")]
    public void HugeFeaturesAreRefusedNamingRowColumnAndTheFix(bool wholeRow, float value, string mention)
    {
        // One cell at 3.4e38, or a whole row of 1e30: finite, but float32 training would overflow.
        WriteData((r, c) => r == 17 && (wholeRow || c == 3) ? value : MathF.Sin(r * 7 + c));
        var r = Run("prepare", "--data", Data);
        AssertOneLineError(r, "prepare", NativeFormat.ItemsFile, "row 17 (0-based)", mention, "2^60", "scale the features down");
        Assert.That(r.Out, Does.Not.Contain("pca-cov"), "refused before the PCA");
        AssertNoCache();
    }

    [Test]
    public void FeaturesJustBelowTheLimitPrepare()
    {
        // Row norm 2^59 < 2^60: accepted (and the row of 1e30 above is refused by the same rule, not by magnitude alone).
        WriteData((r, c) => r == 17 ? MathF.Pow(2, 59) / MathF.Sqrt(TinyData.FeatureDim) : MathF.Sin(r * 7 + c));
        var r = Run("prepare", "--data", Data);
        Assert.That(r.Rc, Is.Zero, r.Err);
    }

    [Test]
    public void ABinaryInteractionsFileIsQuotedEscapedAndShort()
    {
        WriteData();
        var bytes = new byte[4096];
        new Random(1).NextBytes(bytes);
        bytes[0] = 0; bytes[1] = 0x1B; bytes[2] = (byte)'['; bytes[3] = (byte)'2'; bytes[4] = (byte)'J'; bytes[5] = 7;
        File.WriteAllBytes(Interactions, bytes);
        var r = Run("prepare", "--data", Data);
        AssertOneLineError(r, "prepare", Interactions, "wrong or missing header", "\\x00\\x1B[2J\\x07");
        Assert.That(r.Err.TrimEnd('\n').Any(c => char.IsControl(c)), Is.False, "no raw control bytes reach the terminal");
        Assert.That(r.Err.Length, Is.LessThan(Interactions.Length + 300), "the quote is cut short");
        AssertNoCache();
    }

    [Test]
    public void ABinaryFieldIsQuotedEscaped()
    {
        WriteData();
        File.WriteAllText(Interactions, NativeFormat.InteractionsHeader + "\n0,1,2,1,0,0\n0,\u0001\u0000\u001B]0;x\u0007,5,1,0,0\n");
        var r = Run("stats", "--data", Data);
        AssertOneLineError(r, "stats", $"{Interactions}:3: item_id '\\x01\\x00\\x1B]0;x\\x07' is not a whole number");
        Assert.That(r.Err.TrimEnd('\n').Any(char.IsControl), Is.False);
    }

    [Test]
    public void AFileWithoutLineBreaksStopsAtTheLineLimit()
    {
        WriteData();
        File.WriteAllText(Interactions, NativeFormat.InteractionsHeader + "\n" + new string('7', CsvLines.MaxLineBytes + 10));
        AssertOneLineError(Run("stats", "--data", Data), "stats", $"{Interactions}:2: a line longer than 16 MiB");
    }

    [Test]
    public void PrepareRefusesACachePathThatIsAFolderBeforeReadingAnything()
    {
        WriteData();
        Directory.CreateDirectory(PreparedData.CachePath(Data));
        var stages = new Stages();
        var e = Assert.Throws<DataFormatException>(() => PreparedData.Prepare(Data, new PrepareOptions(), stages))!;
        Assert.That(e.Message, Does.StartWith(PreparedData.CachePath(Data)).And.Contain("is a folder"));
        Assert.That(stages.Seen, Is.Empty, "refused before any stage began");
        AssertOneLineError(Run("prepare", "--data", Data), "prepare", PreparedData.CachePath(Data), "is a folder");
    }

    [Test]
    public void PrepareOnAReadOnlyFolderFailsBeforeItsWorkNamingTheCache()
    {
        WriteData();
        ReadOnlyFolder.Make(Data);
        var clock = Stopwatch.StartNew();
        var r = Run("prepare", "--data", Data);
        AssertOneLineError(r, "prepare", PreparedData.CachePath(Data), "cannot be written", "permission denied", "writable");
        Assert.That(r.Out, Does.Not.Contain("read "), "no stage ran");
        Assert.That(r.Err, Does.Not.Contain(".tmp"), "no internal temp path");
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(10));
    }

    [Test]
    public void GenerateAndImportIntoAReadOnlyFolderFailAtOnceNamingOut()
    {
        string parent = Path.Combine(_dir, "ro");
        Directory.CreateDirectory(parent);
        ReadOnlyFolder.Make(parent);
        string outDir = Path.Combine(parent, "data");
        var g = Run("generate", "--preset", "tiny", "--out", outDir);
        AssertOneLineError(g, "generate", $"cannot write data folder {outDir}", "permission denied");
        Assert.That(g.Out, Does.Not.Contain("..."), "no stage ran");
        string src = Path.Combine(_dir, "src");
        Directory.CreateDirectory(src);
        var (train, test, npy) = ImportFixtures.WriteThacil(src);
        var i = Run("import", "thacil", train, test, npy, "--out", outDir);
        AssertOneLineError(i, "import", $"cannot write data folder {outDir}");
        foreach (var err in new[] { g.Err, i.Err }) Assert.That(err, Does.Not.Contain(".tmp-"));
        Assert.That(Directory.EnumerateFileSystemEntries(parent), Is.Empty);
    }

    [Test]
    public void GenerateUnderAFileNamesTheUsersPathNotTheStagingFolder()
    {
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "x");
        var r = Run("generate", "--preset", "tiny", "--out", Path.Combine(file, "data"));
        AssertOneLineError(r, "generate", Path.Combine(file, "data"));
        Assert.That(r.Err, Does.Not.Contain(".tmp-"));
    }
}

/// <summary>Records the stages a preparation reports, synchronously.</summary>
internal sealed class Stages : IProgress<(string Stage, double Fraction)>
{
    public List<string> Seen { get; } = [];
    public void Report((string Stage, double Fraction) value) { lock (Seen) Seen.Add(value.Stage); }
}

/// <summary>
/// Makes a folder unwritable for this process: permissions first; as root (which ignores them) the immutable
/// attribute. Ignores the test where neither works (root without CAP_LINUX_IMMUTABLE).
/// </summary>
internal static class ReadOnlyFolder
{
    public static void Make(string dir)
    {
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        if (!Writable(dir)) return;
        Chattr("+i", dir);
        if (Writable(dir)) Assert.Ignore("cannot make a folder read-only here (root without CAP_LINUX_IMMUTABLE)");
    }

    /// <summary>Undoes <see cref="Make"/> for every folder under <paramref name="root"/> so it can be deleted.</summary>
    public static void Restore(string root)
    {
        if (!Directory.Exists(root)) return;
        foreach (string d in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Prepend(root))
        {
            if (OperatingSystem.IsLinux() && !Writable(d)) Chattr("-i", d);
            File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static bool Writable(string dir)
    {
        string probe = Path.Combine(dir, ".probe");
        try { File.WriteAllText(probe, ""); File.Delete(probe); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static void Chattr(string flag, string dir)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("chattr", [flag, dir]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception) { /* no chattr: Make ignores the test */ }
    }
}
