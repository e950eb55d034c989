namespace Alpine.Tests;

/// <summary>The minimal runner of Program.cs finds and runs a category's tests and counts them.</summary>
[TestFixture]
public class CudaRunnerSmokeTests
{
    [Test]
    public void RunnerCountsACategoryAndReturnsZeroWhenAllPass()
    {
        var stdout = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        int rc;
        try { rc = Program.Main(["--category", "RunnerSelfTest"]); }
        finally { Console.SetOut(stdout); }
        Assert.That(rc, Is.Zero, sw.ToString());
        Assert.That(sw.ToString(), Does.Contain("2 passed, 0 failed, 1 skipped"));
    }

    [Test]
    public void RunnerRefusesMissingCategory() => Assert.That(Program.Main([]), Is.EqualTo(2));
}

[TestFixture, Category("RunnerSelfTest"), Explicit("exercised through Program.Main by CudaRunnerSmokeTests")]
public class RunnerSelfTestFixture
{
    private int _setUps;
    [SetUp] public void SetUp() => _setUps++;
    [Test] public void Passes() => Assert.That(_setUps, Is.GreaterThan(0));
    [TestCase(3)] public void PassesWithArgument(int x) => Assert.That(x, Is.EqualTo(3));
    [Test] public void Skips() => Assert.Ignore("skip path");
}
