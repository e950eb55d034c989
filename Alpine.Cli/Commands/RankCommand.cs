using System.CommandLine;
using System.Globalization;
using Alpine.Data;
using Alpine.Inference;
using Alpine.Prep;
using Alpine.Train;
using Spectre.Console;

namespace Alpine.Cli;

/// <summary>
/// <c>alpine rank</c>: the click probability of candidate micro-videos for one user, after all of the user's
/// impressions; without <c>--candidates</c>, every item the user has not been shown.
/// </summary>
public sealed class RankCommand : ICommand
{
    public int Order => 55;

    private readonly Option<string> _data = Opt.Text("data", "the prepared data folder", required: true);
    private readonly Option<string> _model = Opt.Text("model", "a run folder or a model file", required: true, helpName: "RUN|FILE");
    private readonly Option<int> _user = Opt.Int("user", "a user id", null, min: 0);
    private readonly Option<string> _candidates = Opt.Text("candidates", "item ids to rank, an id given twice ranked once [default: every item the user was not shown]", helpName: "ID1,ID2,...");
    private readonly Option<int> _top = Opt.Int("top", "rows to print", 10, min: 1);
    private readonly ComputeOptions _compute = new();

    public Command Definition
    {
        get
        {
            _user.Required = true;
            var c = new Command("rank", "the click probability of candidate micro-videos for a user, best first") { _data, _model, _user, _candidates, _top };
            foreach (var o in _compute.All) c.Add(o);
            return c;
        }
    }

    public int Run(ParseResult p)
    {
        string dataDir = p.GetValue(_data)!, model = p.GetValue(_model)!;
        int user = p.GetValue(_user);
        string? list = p.GetValue(_candidates);
        int top = p.GetValue(_top);
        var compute = _compute.Parse(p);

        var data = PreparedData.Load(dataDir);
        var (_, file) = EvaluateCommand.ReadModel(data, dataDir, model);
        int[] candidates = list is null ? Unseen(data, user) : ParseIds(list);
        using var backend = BackendFactory.Create(file.Config, data, file.Parameters, compute);
        var ranked = new Recommender(data, backend, file.Mode).Rank(user, candidates);

        var table = new Table().Border(TableBorder.Rounded).Title($"user {user}: top {Math.Min(top, ranked.Length)} of {ranked.Length:N0} candidates");
        table.AddColumn(new TableColumn("rank").RightAligned()).AddColumn(new TableColumn("item").RightAligned()).AddColumn(new TableColumn("p(click)").RightAligned());
        for (int i = 0; i < Math.Min(top, ranked.Length); i++)
            table.AddRow((i + 1).ToString(CultureInfo.InvariantCulture), ranked[i].Item.ToString(CultureInfo.InvariantCulture),
                ranked[i].Probability.ToString("0.0000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        return 0;
    }

    private static int[] ParseIds(string s)
    {
        var ids = new List<int>();
        foreach (string part in s.Split(','))
            if (int.TryParse(part.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) && id >= 0) ids.Add(id);
            else throw new UsageException($"option --candidates expects item ids (whole numbers ≥ 0) separated by commas, got '{part}'");
        return [.. ids];
    }

    /// <summary>Every item the user was never shown (id order); the user id is checked by the Recommender.</summary>
    private static int[] Unseen(PreparedData data, int user)
    {
        if (user >= data.UserCount) return [];
        var seen = new bool[data.ItemCount];
        for (int p = data.UserOffsets[user]; p < data.UserOffsets[user + 1]; p++) seen[data.Item[p]] = true;
        return Enumerable.Range(0, data.ItemCount).Where(i => !seen[i]).ToArray();
    }
}
