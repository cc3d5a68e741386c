using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Incidents;

/// <summary>
/// Refuses, at start, incident settings that would misbehave later: non-positive durations and counts, tiers without a
/// name or response time, a start tier that does not exist, webhooks without an absolute http(s) URL.
/// </summary>
public sealed class IncidentOptionsValidator : IValidateOptions<IncidentOptions>
{
    public ValidateOptionsResult Validate(string? name, IncidentOptions options)
    {
        var failures = new List<string>();
        var section = IncidentOptions.Section;
        if (options.WebhookAttempts < 1)
        {
            failures.Add($"{section}:WebhookAttempts must be at least 1.");
        }

        if (options.WebhookRetryDelay <= TimeSpan.Zero)
        {
            failures.Add($"{section}:WebhookRetryDelay must be positive.");
        }

        if (options.WebhookTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{section}:WebhookTimeout must be positive.");
        }

        if (options.IndexCapacity < 1)
        {
            failures.Add($"{section}:IndexCapacity must be at least 1.");
        }

        for (var i = 0; i < options.Tiers.Count; i++)
        {
            var tier = options.Tiers[i];
            if (string.IsNullOrWhiteSpace(tier.Name))
            {
                failures.Add($"{section}:Tiers:{i}:Name is required.");
            }

            if (tier.ResponseTime <= TimeSpan.Zero)
            {
                failures.Add($"{section}:Tiers:{i}:ResponseTime must be positive.");
            }
        }

        var tiers = options.EffectiveTiers.Count;
        foreach (var (severity, policy) in options.Policies)
        {
            if (policy.StartTier < 1 || policy.StartTier > tiers)
            {
                failures.Add($"{section}:Policies:{severity}:StartTier must be 1–{tiers} (the configured tiers).");
            }

            if (policy.RenotifyInterval < TimeSpan.Zero)
            {
                failures.Add($"{section}:Policies:{severity}:RenotifyInterval must not be negative (zero: never).");
            }
        }

        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            if (options.Webhooks[i].Url is not { IsAbsoluteUri: true, Scheme: "http" or "https" })
            {
                failures.Add($"{section}:Webhooks:{i}:Url must be an absolute http(s) URL.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
