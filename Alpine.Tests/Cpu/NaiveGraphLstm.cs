using Alpine.Model;
using Alpine.Prep;

namespace Alpine.Tests.Cpu;

/// <summary>
/// An independent, deliberately plain forward of the graph-LSTM (paper Eq. 2, SPEC D4–D6): per sequence,
/// per step, per hidden unit, every dot product written out, in the caller's row order. It shares no code
/// with <see cref="Alpine.Cpu.GraphLstm{T}"/>; it is the test's statement of the maths.
/// </summary>
public static class NaiveGraphLstm
{
    public static double[] Forward(int d, int hDim, bool useGraph, CStarReading cstar,
        double[] wx, double[] wh, double[] wg, double[] b, SequenceSet seqs, double[] x)
    {
        int n = seqs.TotalSteps, topL = seqs.TopL;
        var h = new double[n * hDim];
        var c = new double[n * hDim];
        var cs = new double[n * hDim];
        for (int s = 0; s < seqs.Count; s++)
        {
            int off = seqs.Offsets[s];
            for (int t = 0; t < seqs.Length(s); t++)
            {
                int row = off + t;
                // h* and c*_prev: means over the valid graph predecessors.
                var hStar = new double[hDim];
                var cStarPrev = new double[hDim];
                int valid = 0;
                for (int l = 0; l < topL; l++)
                {
                    int k = seqs.GraphPred[row * topL + l];
                    if (k < 0) continue;
                    valid++;
                    for (int e = 0; e < hDim; e++) { hStar[e] += h[(off + k) * hDim + e]; cStarPrev[e] += c[(off + k) * hDim + e]; }
                }
                for (int e = 0; e < hDim; e++)
                {
                    hStar[e] = valid > 0 ? hStar[e] / valid : 0;
                    cStarPrev[e] = valid > 0 ? cStarPrev[e] / valid : 0;
                    if (cstar == CStarReading.Carried) cStarPrev[e] = t > 0 ? cs[(row - 1) * hDim + e] : 0;
                }

                for (int e = 0; e < hDim; e++)
                {
                    double Pre(int gate, double[] wRec, double[]? hRec)
                    {
                        int gr = gate * hDim + e;
                        double z = b[gr];
                        for (int j = 0; j < d; j++) z += wx[gr * d + j] * x[row * d + j];
                        int rr = (gate % 4) * hDim + e;
                        if (hRec != null) for (int j = 0; j < hDim; j++) z += wRec[rr * hDim + j] * hRec[j];
                        return z;
                    }
                    double[]? hPrev = t > 0 ? h.AsSpan((row - 1) * hDim, hDim).ToArray() : null;
                    double i = Sigmoid(Pre(0, wh, hPrev)), f = Sigmoid(Pre(1, wh, hPrev));
                    double o = Sigmoid(Pre(2, wh, hPrev)), u = Math.Tanh(Pre(3, wh, hPrev));
                    double cv = i * u + f * (t > 0 ? c[(row - 1) * hDim + e] : 0);
                    c[row * hDim + e] = cv;
                    double hv = o * Math.Tanh(cv);
                    if (useGraph)
                    {
                        double si = Sigmoid(Pre(4, wg, hStar)), sf = Sigmoid(Pre(5, wg, hStar));
                        double so = Sigmoid(Pre(6, wg, hStar)), su = Math.Tanh(Pre(7, wg, hStar));
                        double csv = si * su + sf * cStarPrev[e];
                        cs[row * hDim + e] = csv;
                        hv += so * Math.Tanh(csv);
                    }
                    h[row * hDim + e] = hv;
                }
            }
        }
        return h;
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
