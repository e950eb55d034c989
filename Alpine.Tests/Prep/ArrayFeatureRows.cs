using Alpine.Prep;

namespace Alpine.Tests.Prep;

/// <summary>An in-memory feature matrix that remembers the largest read, to show a consumer streams.</summary>
internal sealed class ArrayFeatureRows(float[] data, int cols) : IFeatureRows
{
    public long Rows => data.Length / cols;
    public int Cols => cols;
    public int LargestRead { get; private set; }
    public long RowsRead { get; private set; }

    public void ReadRows(long firstRow, Span<float> dest)
    {
        int n = dest.Length / cols;
        Assert.That(firstRow >= 0 && firstRow + n <= Rows, "read within the matrix");
        LargestRead = Math.Max(LargestRead, n);
        RowsRead += n;
        data.AsSpan((int)(firstRow * cols), dest.Length).CopyTo(dest);
    }
}
