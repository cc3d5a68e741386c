using MeshOs.Abstractions.Compliance;

namespace MeshOs.Tests.Browser;

/// <summary>
/// A test's authenticator app: hands out the code of a time step it has not handed out before (the gateway accepts a
/// code once, and one step either side of now), waiting for the clock only when the current and the next step are used.
/// </summary>
public sealed class Authenticator(byte[] secret)
{
    private readonly Lock _gate = new();
    private long _lastStep;

    public static Authenticator FromBase32(string secret) =>
        new(TotpCodes.TryParseBase32(secret, out var bytes) ? bytes : throw new ArgumentException("Not base32 of at least 128 bits.", nameof(secret)));

    public async Task<string> NextCodeAsync()
    {
        while (true)
        {
            lock (_gate)
            {
                var now = TotpCodes.StepAt(DateTimeOffset.UtcNow);
                var step = Math.Max(_lastStep + 1, now);
                if (step <= now + 1)
                {
                    _lastStep = step;
                    return TotpCodes.CodeAt(secret, DateTimeOffset.FromUnixTimeSeconds(step * TotpCodes.StepSeconds));
                }
            }

            // Both usable steps are spent: the next one comes with the clock (at most one 30 s step away).
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }
}
