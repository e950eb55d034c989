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
    public string Name => "rank";
    public string Usage => "--data DIR --model RUN|FILE --user U [--candidates 3,17,...] [--top K] [--threads N] [--device cpu|gpu|auto]   rank videos for a user";
    public int Order => 55;

    public int Run(Options o)
    {
        string dataDir = o.Required("data", "the prepared data folder");
        string model = o.Required("model", "a run folder or a model file");
        int user = o.Int("user", -1, min: 0);
        if (user < 0) throw new UsageException("option --user is required (a user id)");
        string? list = o.String("candidates");
        int top = o.Int("top", 10, min: 1);
        var compute = Compute.Parse(o);
        o.EnsureAllUsed();

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
