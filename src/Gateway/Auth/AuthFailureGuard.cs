using System.Globalization;
using System.Net;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Auth;

/// <summary>
/// Counts failed authentications per client address and turns an address away (429, or gRPC RESOURCE_EXHAUSTED)
/// once it has failed <see cref="GatewaySecurityOptions.AuthFailuresPerMinute"/> times in the current minute, so keys
/// cannot be guessed at speed. Every failure is logged (without the presented secret); past the limit only once per
/// window per address, so an attack cannot flood the log either.
/// </summary>
public sealed partial class AuthFailureGuard(
    Microsoft.Extensions.Options.IOptions<GatewaySecurityOptions> options,
    TimeProvider time,
    Mutations mutations,
    ILogger<AuthFailureGuard> logger)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, (DateTimeOffset Start, int Failures)> _windows = [];

    /// <summary>True when the address used up its failures in the current window; <paramref name="retryAfter"/> says until when.</summary>
    public bool IsBlocked(IPAddress? address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (address is null)
        {
            return false;
        }

        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_windows.TryGetValue(address, out var w) && now - w.Start < Window && w.Failures >= options.Value.AuthFailuresPerMinute)
            {
                retryAfter = w.Start + Window - now;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Counts a failed authentication of <paramref name="context"/>'s request. Up to the limit each one is logged and
    /// audited (<c>auth.failure</c>, the presented key's id but never its secret), and reaching the limit once more
    /// (<c>auth.lockout</c>); the audit entries are appended without holding up the 401.
    /// </summary>
    public void RecordFailure(HttpContext context, string reason) => Count(context, reason, MeshActions.AuthFailure);

    /// <summary>
    /// Counts a wrong second factor (a TOTP code that is not valid or was used before) like a failed authentication, so
    /// codes cannot be guessed at speed either: logged, and reaching the limit audited (<c>auth.lockout</c>); the
    /// failure itself is audited by the MFA gate when it refuses the call.
    /// </summary>
    public void RecordSecondFactorFailure(HttpContext context, string reason) => Count(context, reason, auditAs: null);

    private void Count(HttpContext context, string reason, string? auditAs)
    {
        var address = context.Connection.RemoteIpAddress;
        var path = context.Request.Path.ToString();
        var now = time.GetUtcNow();
        int failures;
        lock (_gate)
        {
            var key = address ?? IPAddress.None;
            var w = _windows.TryGetValue(key, out var existing) && now - existing.Start < Window ? existing : (now, 0);
            failures = w.Item2 + 1;
            _windows[key] = (w.Item1, failures);
            if (_windows.Count > 100_000)
            {
                foreach (var stale in _windows.Where(kv => now - kv.Value.Start >= Window).Select(kv => kv.Key).ToList())
                {
                    _windows.Remove(stale);
                }
            }
        }

        var limit = options.Value.AuthFailuresPerMinute;
        if (failures > limit)
        {
            return;
        }

        LogFailure(logger, address?.ToString() ?? "unknown", path, reason, failures, limit);
        var caller = context.Caller() is { KeyId.Length: > 0 } known ? known : context.Caller() with { KeyId = PresentedKeyId(context.Request) };
        if (auditAs is not null)
        {
            _ = AuditAsync(caller, auditAs, MeshTargets.Endpoint(context.Request.Method, path), MeshErrorCode.Unauthenticated);
        }

        if (failures == limit)
        {
            LogBlocked(logger, address?.ToString() ?? "unknown", limit);
            _ = AuditAsync(caller, MeshActions.AuthLockout, MeshTargets.Address(address?.ToString() ?? "unknown"), MeshErrorCode.ResourceExhausted);
        }
    }

    /// <summary>The id part of a presented key (tenant or operator key), <c>enrollment</c> for the enrollment token; empty otherwise.</summary>
    internal static string PresentedKeyId(HttpRequest request)
    {
        if (request.Headers.ContainsKey(MeshRoles.EnrollmentTokenHeader))
        {
            return "enrollment";
        }

        var key = MeshKeyAuthenticationHandler.PresentedKey(request);
        return ApiKeyFormat.TryParse(key, out _, out var tenantKeyId, out _) ? tenantKeyId
            : OperatorKeyFormat.TryParse(key, out var operatorKeyId, out _) ? operatorKeyId
            : string.Empty;
    }

    /// <summary>Appends the refusal without holding up the answer; a failed append is logged.</summary>
    private async Task AuditAsync(MeshCaller caller, string action, string target, MeshErrorCode code)
    {
        try
        {
            await mutations.RecordRefusalAsync(caller, action, target, code);
        }
        catch (Exception ex)
        {
            LogAuditFailed(logger, action, target, ex.GetBaseException().Message);
        }
    }

    /// <summary>Answers a turned-away request: problem details for REST, a trailers-only status for gRPC.</summary>
    public static Task RejectAsync(HttpContext context, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers.RetryAfter = seconds;
        if (GrpcStatusAnswer.IsGrpc(context.Request))
        {
            GrpcStatusAnswer.Write(context, global::Grpc.Core.StatusCode.ResourceExhausted, "Too many failed authentications from this address; retry after " + seconds + " s");
            return Task.CompletedTask;
        }

        return Results.Problem(
            title: "Too many failed authentications",
            detail: $"This address failed to authenticate too often; retry after {seconds} s.",
            statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Authentication failed from {Address} for {Path}: {Reason} ({Failures}/{Limit} this minute)")]
    private static partial void LogFailure(ILogger logger, string address, string path, string reason, int failures, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit entry {Action} on {Target} could not be appended: {Reason}")]
    private static partial void LogAuditFailed(ILogger logger, string action, string target, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Address {Address} reached {Limit} failed authentications this minute: turned away until the minute ends")]
    private static partial void LogBlocked(ILogger logger, string address, int limit);
}

/// <summary>Turns away addresses that failed authentication too often, before any key is checked.</summary>
public static class AuthFailureGuardExtensions
{
    public static IApplicationBuilder UseMeshAuthFailureGuard(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var guard = context.RequestServices.GetRequiredService<AuthFailureGuard>();
            if (HasCredentials(context.Request) && guard.IsBlocked(context.Connection.RemoteIpAddress, out var retryAfter))
            {
                await AuthFailureGuard.RejectAsync(context, retryAfter);
                return;
            }

            await next(context);
        });

    private static bool HasCredentials(HttpRequest request) =>
        request.Headers.ContainsKey(MeshRoles.ApiKeyHeader) || request.Headers.ContainsKey(MeshRoles.EnrollmentTokenHeader) || request.Headers.Authorization.Count > 0;
}
