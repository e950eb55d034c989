using System.CommandLine;
using Alpine.Serve;
using Alpine.Serving;
using Microsoft.Extensions.Hosting;

namespace Alpine.Cli;

/// <summary>
/// <c>alpine serve</c>: the model of a run over its prepared data as an HTTP service (<see cref="ServeApp"/>):
/// score, recommend, route and observe, with observed impressions journaled in the run's <c>serving/</c> folder.
/// Ctrl-C or SIGTERM stops it gracefully: requests in flight finish, the journal is closed.
/// </summary>
public sealed class ServeCommand : ICommand
{
    public int Order => 57;

    private readonly Option<string> _data = Opt.Text("data", "the prepared data folder", required: true);
    private readonly Option<string> _model = Opt.Text("model", "a run folder or a model file", required: true, helpName: "RUN|FILE");
    private readonly Option<string> _urls = Opt.Text("urls", "where to listen, ';'-separated (port 0: a free port) [default: http://127.0.0.1:5080]", helpName: "URLS");
    private readonly Option<string> _serving = Opt.Text("serving", "the folder of the observation journal [default: serving/ beside the model]", helpName: "DIR");

    private readonly Choice<JournalSync> _sync = Opt.Choice("journal-sync",
        "how far an observe is written before its 200: to the disk (survives power loss) or to the OS (survives kill -9 of the server only)",
        JournalSync.Disk, ("disk", JournalSync.Disk), ("os", JournalSync.Os));

    private readonly Option<int> _itemCacheMb = Opt.Int("item-cache-mb",
        "MiB for each item's share of the heads' first layers, computed at start-up so recommend does not redo it per request (0: off; items past the budget are computed per request)",
        (int)(ServingOptions.DefaultItemCacheBytes >> 20), min: 0, max: 1 << 20);

    private readonly Choice<ItemCachePrecision> _itemCachePrecision = Opt.Choice("item-cache-precision",
        "float: 4 bytes a share; bf16: half the bytes an item (twice the items per MiB), recommend ranking with them and rescoring its shortlist in float. The same answers either way",
        ItemCachePrecision.Float, ("float", ItemCachePrecision.Float), ("bf16", ItemCachePrecision.BFloat16));

    public Command Definition => new("serve", "serve a trained model over HTTP: score, recommend, route new items, observe impressions") { _data, _model, _urls, _serving, _sync, _itemCacheMb, _itemCachePrecision };

    public int Run(ParseResult p)
    {
        string urls = p.GetValue(_urls) ?? "http://127.0.0.1:5080";
        using var model = AlpineModel.Load(p.GetValue(_data)!, p.GetValue(_model)!, new ServingOptions
        {
            ServingDir = p.GetValue(_serving), JournalSync = _sync.Get(p), ItemCacheBytes = (long)p.GetValue(_itemCacheMb) << 20,
            ItemCachePrecision = _itemCachePrecision.Get(p),
        });
        foreach (string w in model.Warnings) Console.Error.WriteLine($"alpine serve: {w}");
        var app = ServeHost.Build(model, urls);
        CtrlC.Run(token =>
        {
            app.StartAsync(token).GetAwaiter().GetResult();
            Console.WriteLine($"alpine serve: {model.UserCount:N0} users, {model.ItemCount:N0} items ({model.CachedItems:N0} in the item cache, " +
                $"{model.ItemCacheBytes / (1024.0 * 1024):0.#} MiB), {model.ObservedCount:N0} observed; " +
                $"listening on {string.Join(' ', ServeHost.Addresses(app))}");
            app.WaitForShutdownAsync(token).GetAwaiter().GetResult();
            return 0;
        });
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.WriteLine("alpine serve: stopped");
        return 0;
    }
}
