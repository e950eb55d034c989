using Alpine.Data;

namespace Alpine.Reproduce;

/// <summary>One row of the paper's tables: AUC (Eq. 9, our AUC_user), P@50, R@50, F@50.</summary>
public readonly record struct PaperRow(double Auc, double P50, double R50, double F50);

/// <summary>
/// The numbers of the paper's Table 2 and Table 3 (Li et al., ACM MM 2019, paper/alpine-mm19.txt), printed beside
/// ours as the paper's data: Dataset I (Kuaishou) for the kuaishou profile, Dataset II (MicroVideo-1.7M) for thacil.
/// A model the paper did not report (DIN; ALPINE_m and ALPINE_um on Dataset II) has no row.
/// </summary>
public static class PaperNumbers
{
    private static readonly Dictionary<string, (PaperRow I, PaperRow? II)> Rows = new()
    {
        ["bpr"] = (new(0.595, 0.290, 0.387, 0.331), new(0.583, 0.241, 0.181, 0.206)),
        ["lstm_r"] = (new(0.713, 0.316, 0.420, 0.360), new(0.641, 0.277, 0.205, 0.236)),
        ["cnn_r"] = (new(0.719, 0.312, 0.413, 0.356), new(0.650, 0.287, 0.214, 0.245)),
        ["atrank"] = (new(0.722, 0.322, 0.426, 0.367), new(0.660, 0.297, 0.221, 0.253)),
        ["ncf"] = (new(0.724, 0.320, 0.420, 0.364), new(0.672, 0.316, 0.225, 0.262)),
        ["thacil"] = (new(0.727, 0.325, 0.429, 0.369), new(0.684, 0.324, 0.234, 0.269)),
        ["alpine"] = (new(0.739, 0.331, 0.436, 0.376), new(0.713, 0.300, 0.460, 0.362)),
        // Table 3.
        ["alpine_u"] = (new(0.737, 0.330, 0.435, 0.375), new(0.702, 0.294, 0.454, 0.356)),
        ["alpine_m"] = (new(0.735, 0.329, 0.433, 0.374), null),
        ["alpine_um"] = (new(0.734, 0.327, 0.432, 0.372), null),
        // Dataset II's row is the paper's ALPINE_ug (no user matrix there to drop).
        ["alpine_umg"] = (new(0.716, 0.318, 0.426, 0.363), new(0.654, 0.291, 0.219, 0.250)),
    };

    /// <summary>The paper's data set the profile stands for, as the tables name it.</summary>
    public static string DatasetOf(Profile profile) => profile == Profile.Thacil ? "Dataset II" : "Dataset I";

    /// <summary>The paper's row for <paramref name="model"/> on the profile's data set, if it reported one.</summary>
    public static PaperRow? Of(string model, Profile profile) =>
        Rows.TryGetValue(model, out var r) ? profile == Profile.Thacil ? r.II : r.I : null;
}
