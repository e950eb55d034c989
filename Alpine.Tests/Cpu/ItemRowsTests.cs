using Alpine.Cpu;

namespace Alpine.Tests.Cpu;

[TestFixture]
public class ItemRowsTests
{
    /// <summary>Distinct ids in order of first appearance; each row's slot names its id's first row; reuse starts clean.</summary>
    [Test]
    public void MapsRowsToDistinctItemsInFirstAppearanceOrder()
    {
        var rows = new ItemRows();
        Assert.That(rows.Build([7, 3, 7, 0, 3, 3]), Is.EqualTo(3));
        Assert.That(rows.First[..3], Is.EqualTo(new[] { 0, 1, 3 }));
        Assert.That(rows.Slot[..6], Is.EqualTo(new[] { 0, 1, 0, 2, 1, 1 }));

        // A second set on the same object: ids seen before get fresh slots, a larger id grows the map.
        Assert.That(rows.Build([3, 12, 3]), Is.EqualTo(2));
        Assert.That(rows.First[..2], Is.EqualTo(new[] { 0, 1 }));
        Assert.That(rows.Slot[..3], Is.EqualTo(new[] { 0, 1, 0 }));
        Assert.That(rows.Build([]), Is.EqualTo(0));
    }

    [Test]
    public void RejectsANegativeId()
    {
        var e = Assert.Throws<ArgumentException>(() => new ItemRows().Build([1, -2]));
        Assert.That(e!.Message, Does.Contain("-2"));
    }
}
