using System.Net;
using System.Net.Sockets;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// Checks, before anything starts, that the ports a process is about to bind are free, so that a port in use is one
/// line naming the port and the flag that moves it, not a host failing halfway through its start with stack traces.
/// (Another process may still take a port between this check and the bind: the start then fails as it would have.)
/// </summary>
public static class PortGuard
{
    /// <summary>One port to check: what it serves, the address it is bound on, and the setting that moves it alone.</summary>
    public sealed record Binding(string What, IPAddress Address, int Port, string Flag);

    /// <summary>The first binding whose port is taken, or null when all are free.</summary>
    public static Binding? FirstInUse(IEnumerable<Binding> bindings)
    {
        foreach (var binding in bindings.Where(b => b.Port > 0))
        {
            using var socket = new Socket(binding.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(binding.Address, binding.Port));
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
            {
                return binding;
            }
        }

        return null;
    }

    /// <summary>The address a Kestrel URL binds (loopback for localhost, every interface for a wildcard).</summary>
    public static IPAddress AddressOf(string url)
    {
        var host = new Uri(MeshEndpoints.Normalize(url)).Host.Trim('[', ']');
        return host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var ip) ? ip
            : IPAddress.Any; // a host name: Kestrel binds every interface for it
    }

    /// <summary>The REST and gRPC bindings of resolved endpoints.</summary>
    public static IEnumerable<Binding> HttpBindings(MeshEndpoints endpoints) =>
    [
        new("REST " + endpoints.Http, AddressOf(endpoints.Http), MeshEndpoints.PortOf(endpoints.Http), "--urls"),
        new("gRPC " + endpoints.Grpc, AddressOf(endpoints.Grpc), MeshEndpoints.PortOf(endpoints.Grpc), "--" + MeshEndpoints.GrpcUrlKey),
    ];

    /// <summary>The message for a port in use: one line, naming the port and how to move it.</summary>
    public static string InUseMessage(Binding binding) =>
        $"MeshOs cannot start: address already in use: port {binding.Port} ({binding.What}). Free it, or move this process with " +
        $"--port <n> (REST n, gRPC n+1; a silo's own ports move with it), or this port alone with {binding.Flag}=<...>.";
}
