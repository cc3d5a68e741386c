using System.Text.Json.Serialization;
using MeshOs.Gateway.Agents;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Compliance;
using MeshOs.Gateway.WebConsole;
using MeshOs.Gateway.Cost;
using MeshOs.Gateway.Dispatch;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Grpc;
using MeshOs.Gateway.Healing;
using MeshOs.Gateway.Incidents;
using MeshOs.Gateway.Jobs;
using MeshOs.Gateway.Kpi;
using MeshOs.Gateway.OpenApi;
using MeshOs.Gateway.Operations;
using MeshOs.Gateway.Routing;
using MeshOs.Gateway.Tenants;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Dashboard;
using Scalar.AspNetCore;

namespace MeshOs.Gateway.Hosting;

/// <summary>Adds and maps the gateway: operational endpoints, dashboard, and the tenant, agent and operator APIs.</summary>
public static class GatewayHostingExtensions
{
    /// <summary>Registers the gateway's services. The host must already provide an Orleans client or silo.</summary>
    public static IHostApplicationBuilder AddMeshGateway(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<GatewaySecurityOptions>().Bind(builder.Configuration.GetSection(GatewaySecurityOptions.Section))
            .Validate(o => o.KeyCacheDuration >= TimeSpan.Zero && o.KeyStaleGrace >= TimeSpan.Zero && o.KeyCheckTimeout > TimeSpan.Zero,
                $"{GatewaySecurityOptions.Section}: KeyCacheDuration and KeyStaleGrace must not be negative, KeyCheckTimeout must be positive.")
            .Validate(o => o.OperatorKeyTotpSecret.Length == 0 || Abstractions.Compliance.TotpCodes.TryParseBase32(o.OperatorKeyTotpSecret, out _),
                $"{GatewaySecurityOptions.Section}:OperatorKeyTotpSecret must be empty or base32 of at least 128 bits (16 bytes, 26 characters).")
            .ValidateOnStart();
        services.AddSingleton<GatewaySecrets>();
        services.AddSingleton<Microsoft.Extensions.Options.IPostConfigureOptions<GatewaySecurityOptions>>(sp => sp.GetRequiredService<GatewaySecrets>());

        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            // Enums by name only, numbers as numbers: what the OpenAPI document says, and nothing else.
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(allowIntegerValues: false));
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            o.SerializerOptions.MaxDepth = 64;
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        // A body or query value that cannot be read throws, so that the problem details can say which field and why.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddMeshHealthChecks();
        services.AddMeshOpenApi();

        services.AddAuthentication(MeshRoles.Scheme)
            .AddScheme<AuthenticationSchemeOptions, MeshKeyAuthenticationHandler>(MeshRoles.Scheme, _ => { });
        services.AddAuthorizationBuilder()
            .AddPolicy(MeshRoles.TenantPolicy, p => p.RequireRole(MeshRoles.Tenant))
            .AddPolicy(MeshRoles.OperatorPolicy, p => p.RequireRole(MeshRoles.Operator))
            .AddPolicy(MeshRoles.AgentPolicy, p => p.RequireRole(MeshRoles.Agent))
            .AddPolicy(MeshRoles.OperatorOrTenantPolicy, p => p.RequireRole(MeshRoles.Operator, MeshRoles.Tenant));

        services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorMappingInterceptor>();
            o.MaxReceiveMessageSize = (int)JobsApi.MaxSubmitBodyBytes;
            // Without this, gRPC's catch-all route for unknown services answers every two-segment POST (a REST call
            // with a wrong content type then got 404 instead of 415).
            o.IgnoreUnknownServices = true;
            o.EnableDetailedErrors = false;
        });

        services.AddSingleton<TenantKeyCache>();
        services.AddSingleton<OperatorKeyCache>();
        services.AddSingleton<OperatorKeyUse>();
        services.AddSingleton<AuthFailureGuard>();
        services.AddSingleton<SecondFactors>();
        services.AddSingleton<ProductionMfaGate>();
        services.AddOptions<GatewayAgentOptions>().Bind(builder.Configuration.GetSection(GatewayAgentOptions.Section));
        services.AddSingleton<StartReports>();
        services.AddHostedService(sp => sp.GetRequiredService<StartReports>());
        services.AddOptions<AdmissionGateOptions>().Bind(builder.Configuration.GetSection(AdmissionGateOptions.Section))
            .Validate(o => o.GatewayHold >= TimeSpan.Zero, $"{AdmissionGateOptions.Section}:GatewayHold must not be negative.")
            .Validate(o => o.MaxSubmitsInFlight >= 0 && o.MaxSubmitsWaiting >= 0, $"{AdmissionGateOptions.Section}:MaxSubmitsInFlight and MaxSubmitsWaiting must not be negative.")
            .Validate(o => o.MaxSubmitWait >= TimeSpan.Zero, $"{AdmissionGateOptions.Section}:MaxSubmitWait must not be negative.")
            .Validate(o => o.RetryAfter > TimeSpan.Zero, $"{AdmissionGateOptions.Section}:RetryAfter must be positive.")
            .Validate(o => o.TargetQueueDelay > TimeSpan.Zero, $"{AdmissionGateOptions.Section}:TargetQueueDelay must be positive.")
            .ValidateOnStart();
        services.AddSingleton<AdmissionGate>();
        services.AddOptions<Routing.RoutingOptions>().Bind(builder.Configuration.GetSection(Routing.RoutingOptions.Section)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<Routing.RoutingOptions>, Routing.RoutingOptionsValidator>();
        services.AddSingleton<DispatchHub>();
        services.AddMeshApplication();
        services.AddMeshAuditRecording(builder.Configuration);
        services.AddMeshComplianceChecks(builder.Configuration);
        services.AddMeshBudgets(builder.Configuration);
        services.AddMeshKpis(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Maps every gateway endpoint. <paramref name="role"/> is reported by /status; with <paramref name="withApis"/>
    /// false only the operational endpoints and the dashboard are served (a silo that does not co-host the gateway).
    /// </summary>
    public static WebApplication MapMeshGateway(this WebApplication app, string role, MeshClusterSettings cluster, bool withApis = true)
    {
        app.UseMeshShutdown();
        app.UseExceptionHandler();
        app.UseMeshSli();
        app.UseStatusCodePages();
        app.UseRequestContentChecks();
        app.UseMeshAuthFailureGuard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseOperatorScopes();
        app.UseProductionMfa();
        app.UseGrpcRequestFraming();

        app.MapOperationsApi(role, cluster.StorageMode);
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        if (withApis)
        {
            app.MapOpenApi("/openapi/{documentName}.json");
            app.MapScalarApiReference("/docs", o => o.WithTitle("MeshOs API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
            app.MapTenantsApi();
            app.MapPoolGrantsApi();
            app.MapJobsApi();
            app.MapAgentsApi();
            app.MapIncidentsApi();
            app.MapHealingApi();
            app.MapAuditApi();
            app.MapOperatorKeysApi();
            app.MapComplianceApi();
            app.MapBudgetsApi();
            app.MapRecommendationsApi();
            app.MapRoutingApi();
            app.MapCostApi();
            app.MapConsoleApi();
            app.MapKpiApi();
            app.MapGrpcService<JobsGrpcService>();
            app.MapGrpcService<AgentChannelGrpcService>();
            app.MapGrpcService<RuntimeChannelGrpcService>();
            app.MapGrpcService<IncidentsGrpcService>();
            app.MapGrpcService<FleetGrpcService>();
            app.MapGrpcService<OperatorKeysGrpcService>();
            app.MapGrpcService<ComplianceGrpcService>();
            app.MapGrpcService<BudgetsGrpcService>();
            app.MapGrpcService<RecommendationsGrpcService>();
            app.MapGrpcService<RoutingGrpcService>();
            app.MapGrpcService<CostGrpcService>();
            app.MapGrpcService<KpisGrpcService>();
            app.MapGrpcService<AuditGrpcService>();
        }

        return app;
    }
}
