using System.ComponentModel.DataAnnotations;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Operations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MeshOs.Gateway.OpenApi;

/// <summary>
/// The OpenAPI document at /openapi/v1.json (browsed at /docs): the REST API and the operational endpoints, not the
/// Orleans dashboard's routes; the credentials each operation takes (so the /docs UI can send a key); request fields
/// marked required exactly when the server refuses them missing, and not nullable when it refuses null.
/// </summary>
public static class MeshOpenApi
{
    public const string ApiKeyScheme = "apiKey";
    public const string BearerScheme = "bearer";
    public const string EnrollmentScheme = "enrollmentToken";

    public static IServiceCollection AddMeshOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.ShouldInclude = description => !(description.RelativePath ?? string.Empty).StartsWith("dashboard", StringComparison.OrdinalIgnoreCase);
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "MeshOs API",
                    Version = MeshVersion.Current,
                    Description = "Tenants submit and follow jobs with their API key; agents speak the agent protocol with the enrollment token "
                        + "or their tenant's key; operators manage tenants, the fleet and incidents with the operator key. Keys go in "
                        + "`x-api-key` or `Authorization: Bearer`. Every error is RFC 7807 problem details (`application/problem+json`) "
                        + "with its true status, or plain text when the client accepts no JSON.",
                };
                AddSchemes(document);
                RequiredReferencesNotNull(document);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var policies = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Select(a => a.Policy).ToHashSet();
                if (policies.Count > 0)
                {
                    AddSchemes(context.Document!);
                    operation.Security = [.. Schemes(policies.Contains(MeshRoles.AgentPolicy)).Select(scheme =>
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] })];
                }

                if ((policies.Contains(MeshRoles.OperatorPolicy) || policies.Contains(MeshRoles.OperatorOrTenantPolicy))
                    && IsProductionAction(context.Description.ActionDescriptor.EndpointMetadata, context.Description.HttpMethod))
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(OtpHeader());
                }

                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // A property the server refuses when missing is refused when null too: not nullable in the document.
                if (context.JsonPropertyInfo?.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) == true)
                {
                    if (schema.Type is { } type)
                    {
                        schema.Type = type & ~JsonSchemaType.Null;
                    }

                    if (schema.OneOf is { Count: > 0 } oneOf)
                    {
                        foreach (var nullable in oneOf.Where(s => s.Type == JsonSchemaType.Null).ToList())
                        {
                            oneOf.Remove(nullable);
                        }
                    }
                }

                return Task.CompletedTask;
            });
        });

    /// <summary>
    /// A required property whose type is a component (a JSON value, say) is written as "null or the component"; the
    /// schema transformer runs before that wrapping, so the null is taken out here.
    /// </summary>
    private static void RequiredReferencesNotNull(OpenApiDocument document)
    {
        foreach (var schema in document.Components?.Schemas?.Values.OfType<OpenApiSchema>() ?? [])
        {
            if (schema.Required is not { Count: > 0 } required || schema.Properties is not { } properties)
            {
                continue;
            }

            foreach (var name in required)
            {
                if (properties.TryGetValue(name, out var property) && property is OpenApiSchema { OneOf: { Count: > 1 } oneOf })
                {
                    foreach (var nullable in oneOf.Where(s => s.Type == JsonSchemaType.Null).ToList())
                    {
                        oneOf.Remove(nullable);
                    }
                }
            }
        }
    }

    /// <summary>Whether an operator key calling this operation makes a production action (the same rule as the MFA gate).</summary>
    private static bool IsProductionAction(IList<object> metadata, string? method) =>
        ProductionMfa.IsProductionAction(OperatorScopeGate.Needed(new Endpoint(null, new EndpointMetadataCollection(metadata), null), method ?? HttpMethods.Get));

    private static OpenApiParameter OtpHeader() => new()
    {
        Name = ProductionMfa.OtpHeader,
        In = ParameterLocation.Header,
        Required = false,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9]{6}$" },
        Description = "The operator key's current TOTP code (RFC 6238: SHA-1, 6 digits, 30 s; one code per call). A production "
            + "action by an operator key: where the production-mfa policy is enforced, refused with 403 without a valid one; in "
            + "audit mode recorded as a finding. Tenant keys ignore it.",
    };

    private static IEnumerable<string> Schemes(bool agents) => agents ? [ApiKeyScheme, BearerScheme, EnrollmentScheme] : [ApiKeyScheme, BearerScheme];

    private static void AddSchemes(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes.TryAdd(ApiKeyScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = MeshRoles.ApiKeyHeader,
            Description = "A tenant API key (mk.<tenant>.<keyId>.<secret>, issued by POST /v1/tenants/{id}/keys) or the operator key.",
        });
        document.Components.SecuritySchemes.TryAdd(BearerScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The same keys as Authorization: Bearer <key>.",
        });
        document.Components.SecuritySchemes.TryAdd(EnrollmentScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = MeshRoles.EnrollmentTokenHeader,
            Description = "The agent enrollment token: platform agents, on the agent protocol (/v1/agent) only.",
        });
    }
}
