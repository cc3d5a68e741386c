using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Auth;

/// <summary>
/// Fills in the operator key and enrollment token when none was configured: random, printed once at start, valid
/// for this process only. Production deployments set both (see README, "Configuration").
/// </summary>
public sealed partial class GatewaySecrets(ILogger<GatewaySecrets> logger) : IPostConfigureOptions<GatewaySecurityOptions>
{
    private readonly Lazy<string> _operatorKey = new(() => "op_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
    private readonly Lazy<string> _enrollmentToken = new(() => "et_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));

    public void PostConfigure(string? name, GatewaySecurityOptions options)
    {
        if (string.IsNullOrEmpty(options.OperatorKey))
        {
            options.OperatorKey = _operatorKey.Value;
            LogGenerated(logger, "operator key", "MeshOs__Gateway__OperatorKey", options.OperatorKey);
        }

        if (string.IsNullOrEmpty(options.EnrollmentToken))
        {
            options.EnrollmentToken = _enrollmentToken.Value;
            LogGenerated(logger, "agent enrollment token", "MeshOs__Gateway__EnrollmentToken", options.EnrollmentToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No {What} configured ({Setting}); generated one for this process: {Value}")]
    private static partial void LogGenerated(ILogger logger, string what, string setting, string value);
}
