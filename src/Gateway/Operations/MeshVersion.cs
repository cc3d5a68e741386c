using System.Reflection;

namespace MeshOs.Gateway.Operations;

/// <summary>The running MeshOs version.</summary>
public static class MeshVersion
{
    public static string Current { get; } =
        typeof(MeshVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(MeshVersion).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";
}
