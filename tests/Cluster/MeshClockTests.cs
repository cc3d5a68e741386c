using System.Reflection;
using MeshOs.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace MeshOs.Tests.Cluster;

/// <summary>
/// The cluster tests move mesh time with <see cref="ClusterClock"/>, which replaces the grains' clock
/// (<see cref="TimeProviderNames.Grains"/>) and nothing else: a mesh grain or service that took the default
/// <see cref="TimeProvider"/> would run on real time there, and its tests would depend on the machine's speed again.
/// </summary>
public sealed class MeshClockTests
{
    [Fact]
    public void Every_clock_a_mesh_grain_or_service_takes_is_the_grains_clock()
    {
        var others = typeof(KernelHostingExtensions).Assembly.GetTypes()
            .SelectMany(type => type.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
            .SelectMany(constructor => constructor.GetParameters())
            .Where(parameter => parameter.ParameterType == typeof(TimeProvider)
                && parameter.GetCustomAttribute<FromKeyedServicesAttribute>()?.Key is not TimeProviderNames.Grains)
            .Select(parameter => $"{parameter.Member.DeclaringType}: {parameter.Name}")
            .ToList();

        Assert.Empty(others);
    }
}
