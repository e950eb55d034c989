using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class ThreadLimitTests
{
    /// <summary>
    /// Parallel loops inside the limit (passing <see cref="ThreadLimit.Options"/>), nested ones and
    /// <see cref="Workers"/> too, never run on more threads at once than asked; outside it they use the cores.
    /// </summary>
    [Test]
    public void ParallelLoopsInsideRunStayWithinTheLimit()
    {
        if (Environment.ProcessorCount < 2) Assert.Inconclusive("one core: a limit of one thread cannot be told apart");
        int running = 0, most = 0;
        void Body()
        {
            int now = Interlocked.Increment(ref running);
            int seen;
            while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen) { }
            Thread.SpinWait(200_000);
            Interlocked.Decrement(ref running);
        }
        // As the model's loops do: every loop passes ThreadLimit.Options, nested ones too, and Workers ranges.
        void Loops()
        {
            Parallel.For(0, 16, ThreadLimit.Options, _ => { Body(); Parallel.Invoke(ThreadLimit.Options, Body, Body); });
            new Workers(4).For(8, (lo, hi) => { for (int i = lo; i < hi; i++) Body(); });
        }

        Loops();
        Assert.That(most, Is.GreaterThan(1), "without a limit the loop does use several threads (else this test shows nothing)");

        most = 0;
        int result = new ThreadLimit(1).Run(() => { Loops(); return 7; });
        Assert.That(result, Is.EqualTo(7));
        Assert.That(most, Is.EqualTo(1), "a limit of one thread");
    }

    [Test]
    public void RunPassesTheWorksExceptionOn()
    {
        var limit = new ThreadLimit(1);
        if (!limit.Limits) Assert.Inconclusive("one core: the limit runs work inline");
        Assert.Throws<InvalidOperationException>(() => limit.Run<int>(() => throw new InvalidOperationException("from the work")));
    }

    [Test]
    public void NoLimitAtOrAboveTheCoreCount()
    {
        Assert.That(new ThreadLimit(0).Limits, Is.False);
        Assert.That(new ThreadLimit(Environment.ProcessorCount).Limits, Is.False);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadLimit(-1));
    }
}
