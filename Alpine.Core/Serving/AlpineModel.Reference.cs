using Alpine.Model;

namespace Alpine.Serving;

public sealed partial class AlpineModel
{
    /// <summary>
    /// <see cref="Score"/> and <see cref="Route(int, int[], int)"/>'s probabilities by the unfactored prediction layer
    /// (<see cref="Scorer"/>: the training code's layer functions, target by target): what the factored paths are
    /// tested against, and the benchmarks' row of what the factoring saves.
    /// </summary>
    internal float[] ScoreUnfactored(int user, ReadOnlySpan<int> items)
    {
        var p = new float[items.Length];
        Scorer().Probabilities(Repeat(State(user), items.Length), Repeat(user, items.Length), Embed(items), p);
        return p;
    }

    /// <inheritdoc cref="ScoreUnfactored"/>
    internal float[] RouteUnfactored(int item, int[] users)
    {
        var states = users.Select(State).ToArray();
        float[] x = Embed([item]);
        var xs = new float[users.Length * x.Length];
        for (int i = 0; i < users.Length; i++) x.CopyTo(xs, i * x.Length);
        var p = new float[users.Length];
        Scorer().Probabilities(states, users, xs, p);
        return p;
    }

    private Scorer Scorer() => _scorer ??= new Scorer(Config, _layout, _p);
    private Scorer? _scorer;

    /// <summary>x of each item (n, D).</summary>
    private float[] Embed(ReadOnlySpan<int> items)
    {
        int d = Config.ItemDim;
        var x = new float[items.Length * d];
        for (int i = 0; i < items.Length; i++) _itemCache.Embed(items[i], x.AsSpan(i * d, d));
        return x;
    }

    private static T[] Repeat<T>(T value, int n)
    {
        var a = new T[n];
        Array.Fill(a, value);
        return a;
    }
}
