using Alpine.Data;

namespace Alpine.Prep;

/// <summary>
/// A float32 feature matrix <c>[Rows, Cols]</c> read in chunks (SPEC D18: nothing in preparation holds all
/// raw features). The PCA reads only through this.
/// </summary>
public interface IFeatureRows
{
    long Rows { get; }
    int Cols { get; }
    /// <summary>Reads rows <c>[firstRow, firstRow + dest.Length / Cols)</c> row-major into <paramref name="dest"/>.</summary>
    void ReadRows(long firstRow, Span<float> dest);
}

/// <summary>The rows of an <c>items.npy</c> file; values training cannot use are refused (<see cref="FeatureCheck"/>), naming the row.</summary>
public sealed class NpyFeatureRows(NpyReader reader) : IFeatureRows
{
    public long Rows => reader.Rows;
    public int Cols => reader.Cols;
    public void ReadRows(long firstRow, Span<float> dest) => reader.ReadRowsChecked(firstRow, dest);
}
