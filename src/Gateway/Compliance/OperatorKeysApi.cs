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

    private static async Task<Ok<OperatorKeyInfo>> RevokeAsync(string keyId, MeshCaller caller, OperatorKeysService keys) =>
        TypedResults.Ok(await keys.RevokeAsync(caller, keyId));
}
