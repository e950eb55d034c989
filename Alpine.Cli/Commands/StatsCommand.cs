using System.CommandLine;
using Alpine.Prep;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary><c>alpine stats</c>: the rows of the paper's Table 1 for a data folder.</summary>
public sealed class StatsCommand : ICommand
{
    public int Order => 35;

    private readonly Option<string> _data = Opt.Text("data", "the data folder", required: true);

    public Command Definition => new("stats", "the paper's Table 1 rows for a data folder (users, items, interactions, split sizes)") { _data };

    public int Run(ParseResult p)
    {
        string dir = p.GetValue(_data)!;
        // A fresh prepared cache is the fastest source; otherwise read and split the log (no PCA needed).
        DatasetStats stats;
        if (PreparedData.IsCacheFresh(dir)) stats = DatasetStats.Of(PreparedData.Load(dir));
        else
        {
            var folder = Alpine.Data.DataFolder.Open(dir);
            stats = DatasetStats.Of(folder.LoadLog(), folder.ItemCount);
        }
        var table = new Table().AddColumn("Dataset").AddColumn(new TableColumn(Markup.Escape(Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')))).RightAligned());
        foreach (var (label, value) in stats.Rows()) table.AddRow(Markup.Escape(label), value);
        table.AddRow("[grey](of training: validation)[/]", $"[grey]{stats.ValidationInteractions:N0}[/]");
        if (stats.FeatureRows != stats.Items) table.AddRow("[grey](feature rows, shown or not)[/]", $"[grey]{stats.FeatureRows:N0}[/]");
        AnsiConsole.Write(table);
        return 0;
    }
}
