using System.Text;
using Alpine.Data;

namespace Alpine.Tests.Data;

[TestFixture]
public class PrintableTests
{
    [Test]
    public void ControlCharactersAndInvalidUtf8AreEscapedAndLongTextIsCut()
    {
        Assert.That(Printable.Quote("a\u0000b\u001b[31mc\n\u009b"), Is.EqualTo("a\\x00b\\x1B[31mc\\x0A\\x9B"));
        Assert.That(Printable.Quote([0x31, 0xFF, 0xC3, 0xA9, 0x00]), Is.EqualTo("1\\xFFé\\x00"), "valid UTF-8 kept, invalid bytes as \\xNN");
        Assert.That(Printable.Quote(new string('7', 100), 10), Is.EqualTo("7777777777…"));
        Assert.That(Printable.Quote(Encoding.UTF8.GetBytes("≥ 0 ✓")), Is.EqualTo("≥ 0 ✓"));
    }

    [Test]
    public void ErrorMessagesAreOneLineWhateverTheyQuote()
    {
        var e = new DataFormatException("/d/in\u001b[2Jteractions.csv", 3, "bad\nline\u0007");
        Assert.That(e.Message, Is.EqualTo("/d/in\\x1B[2Jteractions.csv:3: bad\\x0Aline\\x07"));
        Assert.That(new UsageException("--out a\rb").Message, Is.EqualTo("--out a\\x0Db"));
    }
}
