using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Compliance;

/// <summary>Issues an operator key.</summary>
public sealed record IssueOperatorKeyRequest
{
    /// <summary>A label for the key, 1–100 characters.</summary>
    [Required]
    [StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>The person or team accountable for the key (named in the access review), 1–200 characters.</summary>
    [Required]
    [StringLength(200, MinimumLength = 1)]
    public string? Owner { get; init; }

    /// <summary>What the key may do: ReadOnly, IncidentResponder, ReleaseManager, TenantAdmin or Full.</summary>
    [Required]
    public OperatorScope? Scope { get; init; }
}

/// <summary>A new operator key. <see cref="Key"/> is shown this once; MeshOs keeps only its hash.</summary>
public sealed record IssuedOperatorKeyDto(string KeyId, string Key, OperatorKeyInfo Info);

/// <summary>Confirms a pending TOTP enrolment.</summary>
public sealed record ConfirmMfaRequest
{
    /// <summary>The authenticator's current 6-digit code for the secret just handed out.</summary>
    [Required]
    [StringLength(16, MinimumLength = 1)]
    public string? Code { get; init; }
}

/// <summary>/v1/operator-keys, the REST adapter of <see cref="OperatorKeysService"/>. Operator keys only.</summary>
public static class OperatorKeysApi
{
    public const long MaxBodyBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapOperatorKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/v1/operator-keys").WithTags("Operator keys").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes)).ProducesAuthenticatedProblems();
        keys.MapPost("/", IssueAsync).WithName("IssueOperatorKey")
            .WithSummary("Issue an operator key with a scope (needs a full key); the key is shown only in this response.")
            .ProducesBodyProblems();
        keys.MapGet("/", ReviewAsync).WithName("ReviewOperatorKeys")
            .WithSummary("The access review: every operator key with its scope, owner, last use, the scopes it was used for, and key-hygiene findings.");
        keys.MapDelete("/{keyId}", RevokeAsync).WithName("RevokeOperatorKey").WithSummary("Revoke an operator key at once (needs a full key).")
            .ProducesProblems(StatusCodes.Status404NotFound);

        // A key enrols its own second factor whatever its scope (read-only to the scope gate, so no production action
        // either: a key without TOTP must be able to get one where production-mfa is enforced); the service checks
        // that it is the caller's own key or the caller's key is full.
        keys.MapPost("/{keyId}/mfa", EnrolMfaAsync).WithName("EnrolOperatorKeyMfa").RequireOperatorScope(OperatorScope.ReadOnly)
            .WithSummary("Start TOTP enrolment of a key (the key itself, or a full key): a new secret, shown only in this response, pending until confirmed.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        keys.MapPost("/{keyId}/mfa/confirm", ConfirmMfaAsync).WithName("ConfirmOperatorKeyMfa").RequireOperatorScope(OperatorScope.ReadOnly)
            .WithSummary("Enable the pending TOTP secret with its current code; from then on the key's production actions take a code in X-MeshOs-Otp.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        keys.MapDelete("/{keyId}/mfa", RemoveMfaAsync).WithName("RemoveOperatorKeyMfa")
            .WithSummary("Remove a key's TOTP secret, enabled or pending (needs a full key; a production action).")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Created<IssuedOperatorKeyDto>> IssueAsync([FromBody] IssueOperatorKeyRequest request, MeshCaller caller, OperatorKeysService keys)
    {
        var scope = request.Scope ?? throw Abstractions.MeshException.Invalid("scope", "required: ReadOnly, IncidentResponder, ReleaseManager, TenantAdmin or Full.");
        var issued = await keys.IssueAsync(caller, request.Name, request.Owner, scope);
        return TypedResults.Created($"/v1/operator-keys/{issued.KeyId}", new IssuedOperatorKeyDto(issued.KeyId, issued.Key, issued.Info));
    }

    private static async Task<Ok<AccessReview>> ReviewAsync(MeshCaller caller, OperatorKeysService keys) =>
        TypedResults.Ok(await keys.ReviewAsync(caller));

    private static async Task<Ok<MfaEnrolment>> EnrolMfaAsync(string keyId, MeshCaller caller, OperatorKeysService keys) =>
        TypedResults.Ok(await keys.EnrolMfaAsync(caller, keyId));

    private static async Task<Ok<OperatorKeyInfo>> ConfirmMfaAsync(string keyId, [FromBody] ConfirmMfaRequest request, MeshCaller caller, OperatorKeysService keys) =>
        TypedResults.Ok(await keys.ConfirmMfaAsync(caller, keyId, request.Code));

    private static async Task<Ok<OperatorKeyInfo>> RemoveMfaAsync(string keyId, MeshCaller caller, OperatorKeysService keys) =>
        TypedResults.Ok(await keys.RemoveMfaAsync(caller, keyId));

    private static async Task<Ok<OperatorKeyInfo>> RevokeAsync(string keyId, MeshCaller caller, OperatorKeysService keys) =>
        TypedResults.Ok(await keys.RevokeAsync(caller, keyId));
}
