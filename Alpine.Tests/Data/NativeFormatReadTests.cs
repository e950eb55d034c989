using Alpine.Data;

namespace Alpine.Tests.Data;

[TestFixture]
public class NativeFormatReadTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = TestDirs.Create();
    [TearDown] public void TearDown() => TestDirs.Delete(_dir);

    private const string Header = "user_id,item_id,timestamp,click,like,follow\n";

    private string Write(string text, string name = "interactions.csv")
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    /// <summary>Reading <paramref name="text"/> fails with a message naming the file and <paramref name="line"/>.</summary>
    private DataFormatException Fails(string text, long line, params string[] mentions)
    {
        string p = Write(text);
        var e = Assert.Throws<DataFormatException>(() => NativeFormat.ReadInteractions(p))!;
        Assert.That(e.Message, Does.StartWith(line > 0 ? $"{p}:{line}: " : $"{p}: "));
        Assert.That(e.Line, Is.EqualTo(line));
        foreach (string m in mentions) Assert.That(e.Message, Does.Contain(m));
        Assert.That(e.Message, Does.Not.Contain("\n"));
        return e;
    }

    [Test]
    public void RoundTripsWithSplit()
    {
        var log = new InteractionLog();
        log.Add(0, 3, 1000, true, true, false, SplitPart.Train);
        log.Add(2, 0, -5, false, false, false, SplitPart.Test);
        log.Add(1, 7, long.MaxValue, true, false, true, SplitPart.Train);
        string p = Path.Combine(_dir, "a.csv");
        NativeFormat.WriteInteractions(p, log);
        var back = NativeFormat.ReadInteractions(p);
        Assert.That(back.HasSplit, Is.True);
        Assert.That(ImportFixtures.Rows(back), Is.EqualTo(ImportFixtures.Rows(log)));
        Assert.That((back.UserCount, back.MaxItemIdPlusOne), Is.EqualTo((3, 8)));
    }

    [Test]
    public void RoundTripsWithoutSplit()
    {
        var log = new InteractionLog();
        for (int i = 0; i < 100; i++) log.Add(i % 7, i * 13 % 31, i * 1000L, i % 3 == 0, i % 6 == 0, i % 9 == 0);
        string p = Path.Combine(_dir, "b.csv");
        NativeFormat.WriteInteractions(p, log);
        var back = NativeFormat.ReadInteractions(p);
        Assert.That(back.HasSplit, Is.False);
        Assert.That(ImportFixtures.Rows(back), Is.EqualTo(ImportFixtures.Rows(log)));
    }

    [Test]
    public void AcceptsCrLfBomBlankLinesAndNoTrailingNewline()
    {
        string p = Write("\uFEFFuser_id,item_id,timestamp,click,like,follow,split\r\n4,5,6,1,0,1,test\r\n\r\n7,8,9,0,0,0,train");
        var log = NativeFormat.ReadInteractions(p);
        Assert.That(ImportFixtures.Rows(log), Is.EqualTo(new[]
        {
            (4, 5, 6L, true, false, true, SplitPart.Test),
            (7, 8, 9L, false, false, false, SplitPart.Train),
        }));
    }

    [Test]
    public void ReadsLinesLongerThanTheBuffer()
    {
        // A 3 MB line forces the reader to grow its 1 MB buffer; the error must still name line 3.
        string p = Write(Header + "1,2,3,1,0,0\n" + new string('9', 3 << 20) + ",1,1,1,0,0\n");
        var e = Assert.Throws<DataFormatException>(() => NativeFormat.ReadInteractions(p))!;
        Assert.That(e.Line, Is.EqualTo(3));
        Assert.That(e.Message, Does.Contain("user_id").And.Contain("overflows"));
    }

    [Test] public void EmptyFile() => Fails("", 0, "empty", "user_id,item_id,timestamp,click,like,follow");

    [Test] public void WrongHeader() => Fails("user,item,timestamp,click,like,follow\n1,2,3,1,0,0\n", 1, "header", "expected 'user_id,item_id,timestamp,click,like,follow'");

    [Test] public void MissingHeader() => Fails("1,2,3,1,0,0\n", 1, "header", "expected 'user_id,item_id");

    [Test] public void TooFewColumns() => Fails(Header + "1,2,3,1,0,0\n1,2,3,1,0\n", 3, "5 columns; expected 6");

    [Test] public void TooManyColumns() => Fails(Header + "1,2,3,1,0,0,0\n", 2, "7 columns; expected 6");

    [Test] public void MissingSplitColumn() => Fails("user_id,item_id,timestamp,click,like,follow,split\n1,2,3,1,0,0\n", 2, "6 columns; expected 7");

    [Test] public void NonNumericField() => Fails(Header + "1,2,abc,1,0,0\n", 2, "timestamp 'abc' is not a whole number");

    [Test] public void NegativeId() => Fails(Header + "1,2,3,1,0,0\n-4,2,3,1,0,0\n", 3, "user_id '-4' is negative");

    [Test] public void OverflowingId() => Fails(Header + "1,2147483648,3,1,0,0\n", 2, "item_id '2147483648' overflows", "2147483647");

    [Test] public void OverflowingTimestamp() => Fails(Header + "1,2,9223372036854775808,1,0,0\n", 2, "timestamp", "overflows");

    [Test] public void EmptyField() => Fails(Header + "1,,3,1,0,0\n", 2, "item_id '' is empty");

    [Test] public void FlagNotZeroOrOne() => Fails(Header + "1,2,3,2,0,0\n", 2, "click '2' is not 0 or 1");

    [Test] public void LikeOnNotClicked() => Fails(Header + "1,2,3,1,1,0\n1,2,3,0,1,0\n", 3, "like = 1 on a not-clicked impression");

    [Test] public void FollowOnNotClicked() => Fails(Header + "1,2,3,0,0,1\n", 2, "follow = 1 on a not-clicked impression");

    [Test] public void BadSplitWord() => Fails("user_id,item_id,timestamp,click,like,follow,split\n1,2,3,1,0,0,valid\n", 2, "split 'valid'", "'train' or 'test'");

    [Test]
    public void HeaderOnlyIsAnEmptyLog()
    {
        var log = NativeFormat.ReadInteractions(Write(Header));
        Assert.That(log.Count, Is.Zero);
    }

    [Test]
    public void CategoriesRoundTripInAnyOrder()
    {
        string p = Write("item_id,category_id\n2,2\n0,1\n1,2\n", "item_categories.csv");
        Assert.That(NativeFormat.ReadCategories(p, 3), Is.EqualTo(new[] { 1, 2, 2 }));
        string q = Path.Combine(_dir, "c2.csv");
        NativeFormat.WriteCategories(q, [3, 0, 2, 2]);
        Assert.That(NativeFormat.ReadCategories(q, 4), Is.EqualTo(new[] { 3, 0, 2, 2 }));
    }

    [TestCase("item_id,category_id\n0,1\n0,2\n", 3L, "appears twice")]
    [TestCase("item_id,category_id\n0,1\n5,2\n", 3L, "item_id 5 is beyond the feature rows")]
    [TestCase("item_id,category_id\n0,1\n1,-2\n", 3L, "category_id '-2' is negative")]
    [TestCase("item_id,category\n0,1\n", 1L, "expected 'item_id,category_id'")]
    [TestCase("item_id,category_id\n0,1\n1,2\n", 0L, "item 2 has no row")]
    [TestCase("", 0L, "empty")]
    [TestCase("item_id,category_id\n0,1\n1,2147483647\n2,0\n", 3L, "category_id 2147483647 is not dense")]
    public void CategoriesErrorsNameFileAndLine(string text, long line, string mention)
    {
        string p = Write(text, "item_categories.csv");
        var e = Assert.Throws<DataFormatException>(() => NativeFormat.ReadCategories(p, 3))!;
        Assert.That(e.Message, Does.StartWith(line > 0 ? $"{p}:{line}: " : $"{p}: ").And.Contain(mention));
    }
}
