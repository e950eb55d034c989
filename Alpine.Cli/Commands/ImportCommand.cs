using Alpine.Data;

namespace Alpine.Cli;

/// <summary><c>alpine import kuaivideo|thacil &lt;files…&gt; --out DIR</c>: a public data set into a native folder (SPEC D16).</summary>
public sealed class ImportCommand : ICommand
{
    public string Name => "import";
    public string Usage => "kuaivideo <train.csv> <test.csv> <item_visual_emb_dim64.h5> | thacil <train.csv> <test.csv> <features.npy>  --out DIR [--force]";
    public int Order => 20;

    public int Run(Options o)
    {
        string outDir = o.Required("out", "the native data folder to write");
        bool force = o.Flag("force");
        o.EnsureAllUsed(maxPositional: 4);
        var p = o.Positional;
        if (p.Count == 0) throw new UsageException("expected a source, kuaivideo or thacil");
        Func<string, string, string, string, bool, Action<string>?, CancellationToken, ImportSummary> import = p[0] switch
        {
            "kuaivideo" => KuaiVideoImporter.Import,
            "thacil" => ThacilImporter.Import,
            _ => throw new UsageException($"unknown source '{p[0]}'; expected kuaivideo or thacil"),
        };
        string features = p[0] == "kuaivideo" ? "<item_visual_emb_dim64.h5>" : "<features.npy>";
        if (p.Count != 4) throw new UsageException($"{p[0]}: expected <train.csv> <test.csv> {features}, got {p.Count - 1} file(s)");

        // Ctrl-C stops the import at its next check; the temporary folder is removed on the way out.
        var s = CtrlC.Run(ct => import(p[1], p[2], p[3], outDir, force, msg => Console.Error.WriteLine($"import: {msg}"), ct));
        Console.WriteLine($"wrote {outDir}: {s.Impressions} impressions, {s.Users} users, {s.Items} items ({s.FeatureDim}-d)" +
                          (s.Categories > 0 ? $", {s.Categories} categories" : ""));
        return 0;
    }
}
