using Alpine.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Alpine.Serve;

/// <summary><see cref="ServeApp"/> on Kestrel, as <c>alpine serve</c> runs it.</summary>
public static class ServeHost
{
    /// <summary>The application listening on <paramref name="urls"/> (';'-separated; port 0 picks a free port).</summary>
    public static WebApplication Build(AlpineModel model, string urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = RequestBody.MaxBytes);
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        ServeApp.ConfigureServices(builder.Services, model);
        var app = builder.Build();
        ServeApp.Configure(app);
        return app;
    }

    /// <summary>The addresses a started application listens on (the real port when 0 was asked for).</summary>
    public static IReadOnlyCollection<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
}
