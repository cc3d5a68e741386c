using MeshOs.Gateway.Hosting;

namespace MeshOs.Silo.Demo;

/// <summary>The embedded mode's welcome: addresses on the console and, when enabled, a demo fleet.</summary>
public static class DemoHostingExtensions
{
    public static WebApplicationBuilder AddMeshDemo(this WebApplicationBuilder builder, MeshClusterSettings cluster)
    {
        return builder;
    }

}
