using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Compliance;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Auth;

/// <summary>
/// Right after the scope gate: asks the <c>production-mfa</c> policies in force (<see cref="CompliancePolicies"/>) about
/// every production action (<see cref="ProductionMfa"/>) and reports each check to the auditor. A refusal is 403 problem
/// details (gRPC PermissionDenied) naming the policy, audited as <c>auth.mfa-required</c> (no code) or
/// <c>auth.mfa-invalid</c>; a wrong or reused code counts as a failed authentication of the address
/// (<see cref="AuthFailureGuard"/>). With no such policy enabled nothing is asked, not even the code's grain.
/// </summary>
public sealed partial class ProductionMfaGate(
    CompliancePolicies policies,
    ComplianceReports reports,
    SecondFactors factors,
    AuthFailureGuard failures,
    Mutations mutations,
    TimeProvider time,
    ILogger<ProductionMfaGate> logger)
{
    /// <summary>Returns when the call may go ahead; throws the refusal (or Unavailable when the policies cannot be read) otherwise.</summary>
    public async Task CheckAsync(HttpContext context)
    {
        var set = await policies.GetAsync(context.RequestAborted);
        if (!set.Covering(PolicyRules.ProductionMfa, tenantId: null, pool: null).Any())
        {
            return;
        }

        var caller = context.Caller();
        var (method, path) = (context.Request.Method, context.Request.Path.ToString());
        var factor = await factors.CheckAsync(caller.KeyId, context.Request.Headers[ProductionMfa.OtpHeader].ToString(), context.RequestAborted);
        var decision = ProductionMfa.Decide(set, caller.KeyId, $"{method} {path}", factor, time.GetUtcNow());
        foreach (var check in decision.Checks)
        {
            reports.Report(check);
        }

        if (factor is TotpOutcome.Wrong or TotpOutcome.Replayed or TotpOutcome.NotEnrolled)
        {
            failures.RecordSecondFactorFailure(context, $"second factor of operator key '{caller.KeyId}': {factor}");
        }

        if (decision.Allowed)
        {
            return;
        }

        var refusal = decision.Refusal();
        LogRefused(logger, method, path, caller.KeyId, decision.RefusedBy!.PolicyId, factor);
        await mutations.RecordRefusalAsync(caller, factor == TotpOutcome.Missing ? MeshActions.MfaRequired : MeshActions.MfaInvalid,
            MeshTargets.Endpoint(method, path), MeshErrorCode.PermissionDenied);
        throw refusal;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Production action {Method} {Path} by operator key {KeyId} refused by policy {PolicyId}: second factor {Factor}")]
    private static partial void LogRefused(ILogger logger, string method, string path, string keyId, string policyId, TotpOutcome factor);
}

/// <summary>Puts the <see cref="ProductionMfaGate"/> in the pipeline.</summary>
public static class ProductionMfaGateExtensions
{
    /// <summary>
    /// After <see cref="OperatorScopeGate.UseOperatorScopes"/>: operator calls that are production actions pass the MFA
    /// gate. A REST refusal becomes problem details through the exception handler; a gRPC one is answered here with the
    /// status the error interceptor would have given.
    /// </summary>
    public static IApplicationBuilder UseProductionMfa(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.GetEndpoint() is not { } endpoint || !context.User.IsInRole(MeshRoles.Operator)
            || !ProductionMfa.IsProductionAction(OperatorScopeGate.Needed(endpoint, context.Request.Method)))
        {
            await next(context);
            return;
        }

        try
        {
            await context.RequestServices.GetRequiredService<ProductionMfaGate>().CheckAsync(context);
        }
        catch (Exception ex) when (GrpcStatusAnswer.IsGrpc(context.Request))
        {
            var mapped = ErrorMapping.Map(ex);
            GrpcStatusAnswer.Write(context, mapped.GrpcStatus, ErrorMapping.GrpcDetail(ex, mapped));
            return;
        }

        await next(context);
    });
}
