using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Alpine.Prep;

/// <summary>
/// The covariance's inner loop: <c>Q[i, j] += Σ_r y[r, i] · y[r, j]</c> for i ≤ j over a block of float32 rows held
/// as panels of 32 columns (<c>panels[p][r][c]</c> = y[r, 32p + c]: one panel of the block is 32 KiB at 256 rows, so a
/// tile's j-side stays in L1 while its 8 i-values are broadcast). Each 8 × 32 tile of Q is summed in registers over
/// the block's rows, in row order, one fused multiply-add per row and entry, then added to the float64 Q; so an
/// entry's bits depend on neither the SIMD width nor the thread count, only on where the blocks start.
/// Tiles of i run in parallel; a tile straddling the diagonal also writes entries below it (callers read i ≤ j).
/// </summary>
internal static class GramPanels
{
    /// <summary>Columns per panel.</summary>
    public const int Width = 32;

    /// <summary>Which kernel sums a tile (all give the same bits; tests compare them).</summary>
    public enum Kernel { Auto, Vector512, Vector256, Scalar }

    /// <summary>Columns rounded up to whole panels.</summary>
    public static int Padded(int d) => (d + Width - 1) / Width * Width;

    /// <summary>
    /// Adds the Gram matrix of the first <paramref name="rows"/> rows of a block (panels of <paramref name="capacity"/>
    /// rows, <paramref name="dp"/> columns, the padding columns zero) to the upper triangle of <paramref name="q"/>
    /// (dp × dp, row-major).
    /// </summary>
    public static void AddUpper(double[] q, float[] panels, int dp, int capacity, int rows, Kernel kernel = Kernel.Auto)
    {
        Debug.Assert(dp % Width == 0 && q.Length == dp * dp && panels.Length >= dp * capacity && rows <= capacity);
        if (kernel == Kernel.Auto)
            kernel = Vector512.IsHardwareAccelerated ? Kernel.Vector512 : Vector256.IsHardwareAccelerated ? Kernel.Vector256 : Kernel.Scalar;
        int panelCount = dp / Width, stride = capacity * Width;
        Parallel.For(0, dp / 8, ib =>
        {
            int i0 = ib * 8, ip = i0 / Width;
            Span<float> tile = stackalloc float[8 * Width];
            for (int jp = ip; jp < panelCount; jp++)
            {
                int iOff = ip * stride + i0 % Width, jOff = jp * stride;
                switch (kernel)
                {
                    case Kernel.Vector512: Tile512(panels, iOff, jOff, rows, tile); break;
                    case Kernel.Vector256: Tile256(panels, iOff, jOff, rows, tile); Tile256(panels, iOff + 4, jOff, rows, tile[(4 * Width)..]); break;
                    default: TileScalar(panels, iOff, jOff, rows, tile); break;
                }
                for (int a = 0; a < 8; a++)
                {
                    var qRow = q.AsSpan((i0 + a) * dp + jp * Width, Width);
                    var tRow = tile.Slice(a * Width, Width);
                    for (int j = 0; j < Width; j++) qRow[j] += tRow[j];
                }
            }
        });
    }

    /// <summary>8 rows i × 32 columns j: 16 Vector512 sums, 2 loads and 8 broadcasts per row of the block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile512(float[] p, int iOff, int jOff, int rows, Span<float> t)
    {
        ref float pr = ref p[0];
        var c00 = Vector512<float>.Zero; var c01 = c00; var c10 = c00; var c11 = c00; var c20 = c00; var c21 = c00; var c30 = c00; var c31 = c00;
        var c40 = c00; var c41 = c00; var c50 = c00; var c51 = c00; var c60 = c00; var c61 = c00; var c70 = c00; var c71 = c00;
        for (int r = 0; r < rows; r++)
        {
            nuint jo = (nuint)(jOff + r * Width), io = (nuint)(iOff + r * Width);
            var v0 = Vector512.LoadUnsafe(ref pr, jo);
            var v1 = Vector512.LoadUnsafe(ref pr, jo + 16);
            var s = Vector512.Create(Unsafe.Add(ref pr, io)); c00 = Vector512.FusedMultiplyAdd(s, v0, c00); c01 = Vector512.FusedMultiplyAdd(s, v1, c01);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 1)); c10 = Vector512.FusedMultiplyAdd(s, v0, c10); c11 = Vector512.FusedMultiplyAdd(s, v1, c11);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 2)); c20 = Vector512.FusedMultiplyAdd(s, v0, c20); c21 = Vector512.FusedMultiplyAdd(s, v1, c21);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 3)); c30 = Vector512.FusedMultiplyAdd(s, v0, c30); c31 = Vector512.FusedMultiplyAdd(s, v1, c31);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 4)); c40 = Vector512.FusedMultiplyAdd(s, v0, c40); c41 = Vector512.FusedMultiplyAdd(s, v1, c41);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 5)); c50 = Vector512.FusedMultiplyAdd(s, v0, c50); c51 = Vector512.FusedMultiplyAdd(s, v1, c51);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 6)); c60 = Vector512.FusedMultiplyAdd(s, v0, c60); c61 = Vector512.FusedMultiplyAdd(s, v1, c61);
            s = Vector512.Create(Unsafe.Add(ref pr, io + 7)); c70 = Vector512.FusedMultiplyAdd(s, v0, c70); c71 = Vector512.FusedMultiplyAdd(s, v1, c71);
        }
        ref float tr = ref t[0];
        c00.StoreUnsafe(ref tr, 0); c01.StoreUnsafe(ref tr, 16); c10.StoreUnsafe(ref tr, 32); c11.StoreUnsafe(ref tr, 48);
        c20.StoreUnsafe(ref tr, 64); c21.StoreUnsafe(ref tr, 80); c30.StoreUnsafe(ref tr, 96); c31.StoreUnsafe(ref tr, 112);
        c40.StoreUnsafe(ref tr, 128); c41.StoreUnsafe(ref tr, 144); c50.StoreUnsafe(ref tr, 160); c51.StoreUnsafe(ref tr, 176);
        c60.StoreUnsafe(ref tr, 192); c61.StoreUnsafe(ref tr, 208); c70.StoreUnsafe(ref tr, 224); c71.StoreUnsafe(ref tr, 240);
    }

    /// <summary>4 rows i × 32 columns j: 16 Vector256 sums (the 16 registers of AVX2), 4 loads and 4 broadcasts a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile256(float[] p, int iOff, int jOff, int rows, Span<float> t)
    {
        ref float pr = ref p[0];
        var c00 = Vector256<float>.Zero; var c01 = c00; var c02 = c00; var c03 = c00;
        var c10 = c00; var c11 = c00; var c12 = c00; var c13 = c00;
        var c20 = c00; var c21 = c00; var c22 = c00; var c23 = c00;
        var c30 = c00; var c31 = c00; var c32 = c00; var c33 = c00;
        for (int r = 0; r < rows; r++)
        {
            nuint jo = (nuint)(jOff + r * Width), io = (nuint)(iOff + r * Width);
            var v0 = Vector256.LoadUnsafe(ref pr, jo); var v1 = Vector256.LoadUnsafe(ref pr, jo + 8);
            var v2 = Vector256.LoadUnsafe(ref pr, jo + 16); var v3 = Vector256.LoadUnsafe(ref pr, jo + 24);
            var s = Vector256.Create(Unsafe.Add(ref pr, io));
            c00 = Vector256.FusedMultiplyAdd(s, v0, c00); c01 = Vector256.FusedMultiplyAdd(s, v1, c01); c02 = Vector256.FusedMultiplyAdd(s, v2, c02); c03 = Vector256.FusedMultiplyAdd(s, v3, c03);
            s = Vector256.Create(Unsafe.Add(ref pr, io + 1));
            c10 = Vector256.FusedMultiplyAdd(s, v0, c10); c11 = Vector256.FusedMultiplyAdd(s, v1, c11); c12 = Vector256.FusedMultiplyAdd(s, v2, c12); c13 = Vector256.FusedMultiplyAdd(s, v3, c13);
            s = Vector256.Create(Unsafe.Add(ref pr, io + 2));
            c20 = Vector256.FusedMultiplyAdd(s, v0, c20); c21 = Vector256.FusedMultiplyAdd(s, v1, c21); c22 = Vector256.FusedMultiplyAdd(s, v2, c22); c23 = Vector256.FusedMultiplyAdd(s, v3, c23);
            s = Vector256.Create(Unsafe.Add(ref pr, io + 3));
            c30 = Vector256.FusedMultiplyAdd(s, v0, c30); c31 = Vector256.FusedMultiplyAdd(s, v1, c31); c32 = Vector256.FusedMultiplyAdd(s, v2, c32); c33 = Vector256.FusedMultiplyAdd(s, v3, c33);
        }
        ref float tr = ref t[0];
        c00.StoreUnsafe(ref tr, 0); c01.StoreUnsafe(ref tr, 8); c02.StoreUnsafe(ref tr, 16); c03.StoreUnsafe(ref tr, 24);
        c10.StoreUnsafe(ref tr, 32); c11.StoreUnsafe(ref tr, 40); c12.StoreUnsafe(ref tr, 48); c13.StoreUnsafe(ref tr, 56);
        c20.StoreUnsafe(ref tr, 64); c21.StoreUnsafe(ref tr, 72); c22.StoreUnsafe(ref tr, 80); c23.StoreUnsafe(ref tr, 88);
        c30.StoreUnsafe(ref tr, 96); c31.StoreUnsafe(ref tr, 104); c32.StoreUnsafe(ref tr, 112); c33.StoreUnsafe(ref tr, 120);
    }

    /// <summary>8 × 32, one entry at a time, in the same row order with the same fused multiply-adds.</summary>
    private static void TileScalar(float[] p, int iOff, int jOff, int rows, Span<float> t)
    {
        t[..(8 * Width)].Clear();
        for (int r = 0; r < rows; r++)
            for (int a = 0; a < 8; a++)
            {
                float s = p[iOff + r * Width + a];
                for (int j = 0; j < Width; j++) t[a * Width + j] = MathF.FusedMultiplyAdd(s, p[jOff + r * Width + j], t[a * Width + j]);
            }
    }
}
