using ILGPU.Runtime;
using ILGPU;

namespace Alpine.Kernels.GraphLstm;

/// <summary>The re-layout of an LSTM's recurrent weights for the forward kernels.</summary>
public static class RecurrentWeightKernels
{
    /// <summary>WrT[k, r] = W_h[r, k] for r &lt; 4H, W*_h[r−4H, k] otherwise: (H, GH), so the forward's
    /// threads (one per hidden unit j) read consecutive addresses.</summary>
    public static void FuseRecurrentWeights(Index1D e, CellDims d, ArrayView<float> wh, ArrayView<float> wg, ArrayView<float> wrT)
    {
        int gh = d.GH, h = d.H;
        int k = e / gh, r = e % gh;
        wrT[e] = r < 4 * h ? wh[(long)r * h + k] : wg[(long)(r - 4 * h) * h + k];
    }
}
