using System.CommandLine;
using Alpine.Data;

namespace Alpine.Cli;

/// <summary><c>alpine import kuaivideo|thacil &lt;files…&gt; --out DIR</c>: a public data set into a native folder (SPEC D16).</summary>
public sealed class ImportCommand : ICommand
{
    public int Order => 20;

    private readonly Option<string> _out = Opt.Text("out", "the native data folder to write", required: true);
    private readonly Option<bool> _force = Opt.Flag("force", "replace an existing data folder");
    private readonly Argument<string[]> _files = new("source-and-files")
    {
        Description = "kuaivideo <train.csv> <test.csv> <item_visual_emb_dim64.h5> | thacil <train.csv> <test.csv> <features.npy>",
        Arity = new ArgumentArity(0, 4),
    };

    public Command Definition => new("import", "a public data set (KuaiVideo_x1 or THACIL) into a native data folder (SPEC D16)") { _files, _out, _force };

    public int Run(ParseResult parse)
    {
        string outDir = parse.GetValue(_out)!;
        bool force = parse.GetValue(_force);
        var p = parse.GetValue(_files) ?? [];
        if (p.Length == 0) throw new UsageException("expected a source, kuaivideo or thacil");
        Func<string, string, string, string, bool, Action<string>?, CancellationToken, ImportSummary> import = p[0] switch
        {
            "kuaivideo" => KuaiVideoImporter.Import,
            "thacil" => ThacilImporter.Import,
            _ => throw new UsageException($"unknown source '{p[0]}'; expected kuaivideo or thacil"),
        };
        string features = p[0] == "kuaivideo" ? "<item_visual_emb_dim64.h5>" : "<features.npy>";
        if (p.Length != 4) throw new UsageException($"{p[0]}: expected <train.csv> <test.csv> {features}, got {p.Length - 1} file(s)");

        using var writer = FolderLock.Acquire(outDir, "data folder", createParent: true);
        // Ctrl-C stops the import at its next check; the temporary folder is removed on the way out.
        var s = CtrlC.Run(ct => import(p[1], p[2], p[3], outDir, force, msg => Console.Error.WriteLine($"import: {msg}"), ct));
        Console.WriteLine($"wrote {outDir}: {s.Impressions} impressions, {s.Users} users, {s.Items} items ({s.FeatureDim}-d)" +
                          (s.Categories > 0 ? $", {s.Categories} categories" : ""));
        return 0;
    }
}
