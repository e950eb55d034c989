using Alpine.Prep;
using Alpine.Serve;
using Alpine.Serving;
using Alpine.Tests.Cli;
using Alpine.Tests.Train;
using Alpine.Train;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;

namespace Alpine.Tests.Serving;

/// <summary>A prepared data folder and a run folder holding an (untrained, seeded) model of it, on disk.</summary>
internal static class ServedRun
{
    public static (string Data, string Run) Write(string root, int seed = 31)
    {
        string data = TrainCommandTests.WriteData(Path.Combine(root, "data"), seed);
        var prepared = PreparedData.Load(data);
        var c = TinyData.Config();
        var layout = Alpine.Model.ModelLayout.Create(c, prepared.UserCount, prepared.CategoryCount);
        var p = Alpine.Model.ParameterInit.Create(c, layout, prepared.Items, prepared.LikesFollows, 7);
        string run = Path.Combine(root, "run");
        Directory.CreateDirectory(run);
        new ModelFile
        {
            Config = c, Fingerprint = prepared.Fingerprint, Prepared = prepared.Options, Parameters = p,
            Shape = new ModelShape(prepared.UserCount, prepared.Items.CategoryCount, c.ItemDim, c.HiddenSize, c.MlpHidden, p.Length),
        }.Write(Path.Combine(run, RunFolder.ModelFileName));
        return (data, run);
    }
}

/// <summary>
/// <see cref="ServeApp"/> over one model in the test server of <see cref="WebApplicationFactory{TEntryPoint}"/>. The
/// factory wants a type of an assembly with an entry point: <c>alpine</c>'s serve command, whose host this replaces.
/// </summary>
internal sealed class ServeFactory(AlpineModel model) : WebApplicationFactory<Alpine.Cli.ServeCommand>
{
    protected override IHostBuilder CreateHostBuilder() => Host.CreateDefaultBuilder()
        .ConfigureWebHostDefaults(web => web
            .ConfigureServices(s => ServeApp.ConfigureServices(s, model))
            .Configure(ServeApp.Configure));
}
