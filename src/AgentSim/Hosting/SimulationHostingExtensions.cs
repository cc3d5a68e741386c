using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MeshOs.AgentSim.Hosting;

public static class SimulationHostingExtensions
{
    /// <summary>
    /// Runs a <see cref="SimulatedFleet"/> for the host's lifetime, configured from section <c>Sim</c>. Without a token
    /// or key of its own, the fleet uses the mesh's <c>MeshOs:Gateway:EnrollmentToken</c>, so one setting serves a
    /// co-hosted or composed mesh and its simulator.
    /// </summary>
    public static IServiceCollection AddSimulatedFleet(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SimulationOptions>()
            .Bind(configuration.GetSection(SimulationOptions.Section))
            .PostConfigure(o =>
            {
                if (string.IsNullOrEmpty(o.EnrollmentToken) && string.IsNullOrEmpty(o.ApiKey))
                {
                    o.EnrollmentToken = configuration["MeshOs:Gateway:EnrollmentToken"];
                }
            })
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<SimulationOptions>, SimulationOptionsValidator>();
        services.AddHostedService<SimulationService>();
        return services;
    }
}
