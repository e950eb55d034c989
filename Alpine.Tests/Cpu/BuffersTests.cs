using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class BuffersTests
{
    /// <summary>Both allocation paths give zeroed arrays of the asked length that hold what is written.</summary>
    [TestCase(1000L), TestCase(Buffers.HugeFrom / sizeof(float) + 12345)]
    public void AllocateGivesAZeroedArrayOfTheLength(long n)
    {
        var a = Buffers.Allocate<float>(n);
        Assert.That(a.LongLength, Is.EqualTo(n));
        Assert.That(a.AsSpan().ContainsAnyExcept(0f), Is.False, "fresh buffers are zero");
        for (long i = 0; i < n; i += 4099) a[i] = i;
        for (long i = 0; i < n; i += 4099) Assert.That(a[i], Is.EqualTo((float)i));
    }

    /// <summary>The first request is exact, a later growth gets a quarter of headroom, and no growth when it fits.</summary>
    [Test]
    public void GrowIsExactFirstThenAddsAQuarter()
    {
        int[] a = [];
        Buffers.Grow(ref a, 100);
        Assert.That(a.Length, Is.EqualTo(100));
        var same = a;
        Buffers.Grow(ref a, 80);
        Assert.That(a, Is.SameAs(same), "a smaller request keeps the buffer");
        Buffers.Grow(ref a, 200);
        Assert.That(a.Length, Is.EqualTo(250));
    }

}
