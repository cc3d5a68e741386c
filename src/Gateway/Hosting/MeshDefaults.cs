using Microsoft.Extensions.Configuration.Memory;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// Defaults every MeshOs process starts from, at the lowest precedence: appsettings.json (if an operator adds one),
/// environment variables and the command line override any of them. Keeps the processes quiet by default
/// (Orleans logs its whole configuration at Information) without shipping config files that collide on publish.
/// </summary>
public static class MeshDefaults
{
    public static WebApplicationBuilder UseMeshDefaults(this WebApplicationBuilder builder, string httpUrl, string grpcUrl)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                // Two endpoints, because without TLS HTTP/1.1 and HTTP/2 cannot share a port.
                ["Kestrel:Endpoints:Http:Url"] = httpUrl,
                ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
                ["Kestrel:Endpoints:Grpc:Url"] = grpcUrl,
                ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
                // Agents of one process share a connection: allow many streams on it (Kestrel's default is 100).
                ["Kestrel:Limits:Http2:MaxStreamsPerConnection"] = "5000",

                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                // Hosting logs only "request started/finished" (Information); any level on makes ASP.NET Core build
                // an Activity and a log scope for every request, agent streams included.
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
                ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.Silo"] = "Information",
                ["Logging:LogLevel:Orleans.Runtime.SiloOptionsLogger"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.SiloControl"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.MembershipService"] = "Information",
                ["Logging:LogLevel:Orleans.Placement"] = "Error",
                ["Logging:LogLevel:Polly"] = "Error",
                ["Logging:LogLevel:Grpc"] = "Warning",
                ["Logging:LogLevel:MeshOs.AgentSdk"] = "Warning",
                ["Logging:LogLevel:MeshOs.AgentSim"] = "Warning",
                ["Logging:Console:FormatterName"] = "simple",
                ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss ",
            },
        });
        return builder;
    }

    /// <summary>The configured HTTP and gRPC addresses, as printed at start.</summary>
    public static (string Http, string Grpc) Endpoints(IConfiguration configuration) =>
        (configuration["Kestrel:Endpoints:Http:Url"] ?? string.Empty, configuration["Kestrel:Endpoints:Grpc:Url"] ?? string.Empty);
}
