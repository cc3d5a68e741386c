using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using Microsoft.Extensions.Options;

namespace MeshOs.AgentSdk;

/// <summary>Checks <see cref="MeshAgentOptions"/> against the limits the mesh applies to a registration.</summary>
public sealed class MeshAgentOptionsValidator : IValidateOptions<MeshAgentOptions>
{
    public const int MaxConcurrencyLimit = 10_000;
    public const int MaxCapabilities = 64;

    public ValidateOptionsResult Validate(string? name, MeshAgentOptions options)
    {
        var failures = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add("Endpoint: an absolute http:// or https:// address is required.");
        }

        if (!IsValidAgentId(options.AgentId))
        {
            failures.Add("AgentId: 1–128 of letters, digits and - _ . : / is required.");
        }

        if (!IsValidName(options.Pool))
        {
            failures.Add("Pool: 1–100 of a-z 0-9 - _ . / is required.");
        }

        if (options.Capabilities is not { Count: > 0 and <= MaxCapabilities } capabilities)
        {
            failures.Add($"Capabilities: 1–{MaxCapabilities} are required.");
        }
        else
        {
            failures.AddRange(capabilities.Where(c => !IsValidName(c)).Select(c => $"Capabilities: '{c}' is not a capability name (1–100 of a-z 0-9 - _ . /)."));
        }

        if (options.MaxConcurrency is < 1 or > MaxConcurrencyLimit)
        {
            failures.Add($"MaxConcurrency: 1–{MaxConcurrencyLimit}.");
        }

        if (options.Version is null || options.Version.Length > 64)
        {
            failures.Add("Version: at most 64 characters.");
        }

        if (options.Region is null || options.Region.Length > 64)
        {
            failures.Add("Region: at most 64 characters.");
        }

        if (options.Certifications is null || options.Certifications.Count > ComplianceTags.MaxCount || !options.Certifications.All(ComplianceTags.IsValid))
        {
            failures.Add($"Certifications: at most {ComplianceTags.MaxCount} names of 1–{ComplianceTags.MaxLength} of a-z 0-9 -.");
        }

        if (options.CostPerHour is not (>= 0 and <= 1_000_000))
        {
            failures.Add("CostPerHour: 0–1,000,000.");
        }

        var hasToken = !string.IsNullOrEmpty(options.EnrollmentToken);
        var hasKey = !string.IsNullOrEmpty(options.ApiKey);
        if (hasToken == hasKey)
        {
            failures.Add("EnrollmentToken or ApiKey: exactly one is required.");
        }

        // A tenant's agents serve its own pools and pools another tenant granted it, never the platform's; saying so
        // here beats a PermissionDenied at every reconnect.
        if (hasKey && ApiKeyFormat.TryParse(options.ApiKey, out var tenantId, out _, out _) && options.Pool is { } pool
            && PoolAccess.OwnerOf(pool) == AgentPools.PlatformOwner)
        {
            failures.Add($"Pool: agents of tenant '{tenantId}' serve its own pools ('{tenantId}', '{tenantId}/…') or pools another tenant granted it, never '{pool}'.");
        }

        if (options.ReconnectMinDelay <= TimeSpan.Zero)
        {
            failures.Add("ReconnectMinDelay: must be positive.");
        }

        if (options.ReconnectMaxDelay < options.ReconnectMinDelay)
        {
            failures.Add("ReconnectMaxDelay: must be at least ReconnectMinDelay.");
        }

        if (options.RegistrationTimeout <= TimeSpan.Zero)
        {
            failures.Add("RegistrationTimeout: must be positive.");
        }

        if (options.ShutdownTimeout < TimeSpan.Zero)
        {
            failures.Add("ShutdownTimeout: must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem of <paramref name="options"/>.</summary>
    public static void ThrowIfInvalid(MeshAgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new MeshAgentOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(MeshAgentOptions), result.Failures);
        }
    }

    private static bool IsValidAgentId(string? id) =>
        id is { Length: > 0 and <= 128 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/');

    private static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 100 } && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '/');
}
