using System.Text;
using System.Text.Json;

namespace Alpine.Eval;

/// <summary><c>metrics.json</c>: a <see cref="MetricReport"/> plus a few context fields; NaN (no eligible user) is written as null.</summary>
public static class MetricsJson
{
    public static string Write(MetricReport r, IEnumerable<KeyValuePair<string, object>> context)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (k, v) in context)
            {
                switch (v)
                {
                    case string s: w.WriteString(k, s); break;
                    case int i: w.WriteNumber(k, i); break;
                    case long l: w.WriteNumber(k, l); break;
                    case double d: Number(w, k, d); break;
                    default: w.WriteString(k, v.ToString()); break;
                }
            }
            w.WriteNumber("impressions", r.Impressions);
            w.WriteNumber("users", r.Users);
            Number(w, "auc_user", r.AucUser);
            w.WriteNumber("auc_users", r.AucUsers);
            Number(w, "auc_global", r.AucGlobal);
            Number(w, "gauc", r.GAuc);
            Number(w, "logloss", r.LogLoss);
            w.WriteNumber("click_users", r.ClickUsers);
            for (int q = 0; q < r.Ks.Length; q++)
            {
                Number(w, $"p@{r.Ks[q]}", r.Precision[q]);
                Number(w, $"r@{r.Ks[q]}", r.Recall[q]);
                Number(w, $"f@{r.Ks[q]}", r.F1[q]);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, Math.Round(v, 6));
        else w.WriteNull(name);
    }
}
