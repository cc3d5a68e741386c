using Microsoft.Extensions.Configuration.Memory;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// Where a MeshOs process listens. Two Kestrel endpoints, because without TLS HTTP/1.1 and HTTP/2 cannot share a
/// port: <c>Http</c> (REST, dashboard, health, metrics; HTTP/1.1) and <c>Grpc</c> (gRPC; HTTP/2 cleartext).
/// Override with <c>Kestrel__Endpoints__Http__Url</c> and <c>Kestrel__Endpoints__Grpc__Url</c>.
/// </summary>
public static class UrlDefaults
{
    public static WebApplicationBuilder UseMeshEndpoints(this WebApplicationBuilder builder, string httpUrl, string grpcUrl)
    {
        // Lowest precedence: appsettings, environment and command line all override these defaults.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Http:Url"] = httpUrl,
                ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
                ["Kestrel:Endpoints:Grpc:Url"] = grpcUrl,
                ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            },
        });
        return builder;
    }

    /// <summary>The configured HTTP and gRPC addresses, as printed at start.</summary>
    public static (string Http, string Grpc) Endpoints(IConfiguration configuration) =>
        (configuration["Kestrel:Endpoints:Http:Url"] ?? string.Empty, configuration["Kestrel:Endpoints:Grpc:Url"] ?? string.Empty);
}
