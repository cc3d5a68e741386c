using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// Runs a MeshOs process's Main: a start its operator can fix (<see cref="MeshStartException"/>: a port in use, a value
/// that is not a port) ends with one line on stderr and exit code 2 instead of a stack trace; a graceful stop is 0.
/// </summary>
public static class MeshStart
{
    public static async Task<int> RunAsync(Func<Task> main)
    {
        try
        {
            await main();
            return 0;
        }
        catch (MeshStartException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return MeshStartException.ExitCode;
        }
        catch (Exception ex) when (AddressInUse(ex) is { } inUse)
        {
            // Taken between the check and the bind.
            await Console.Error.WriteLineAsync($"MeshOs cannot start: address already in use ({inUse}). Free it, or move this process with --port <n>.");
            return MeshStartException.ExitCode;
        }
    }

    private static string? AddressInUse(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return e.Message;
            }
        }

        return null;
    }
}
