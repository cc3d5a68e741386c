using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using MeshOs.Abstractions.Incidents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Incidents;

/// <summary>An incident notification as webhooks receive it (JSON body).</summary>
public sealed record IncidentNotification(
    string Event,
    string IncidentId,
    string Title,
    IncidentSeverity Severity,
    IncidentState State,
    int Tier,
    string TierName,
    string? Commander,
    DateTimeOffset DetectedAt,
    DateTimeOffset SentAt,
    string Message);

/// <summary>
/// Sends incident notifications to the log and to the configured webhooks, off the caller's path: each delivery is
/// retried with exponential backoff until it succeeds (2xx) or runs out of attempts. Requests are signed:
/// <c>X-MeshOs-Timestamp</c> (Unix seconds) and <c>X-MeshOs-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))</c>.
/// </summary>
public sealed partial class IncidentNotifier(
    IHttpClientFactory httpClients,
    IOptions<IncidentOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<IncidentNotifier> logger) : BackgroundService
{
    public const string HttpClientName = "meshos-webhooks";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly Channel<(WebhookTarget Target, IncidentNotification Notification)> _deliveries =
        Channel.CreateUnbounded<(WebhookTarget, IncidentNotification)>();

    /// <summary>Logs the notification and queues it for every webhook whose filters match.</summary>
    public void Notify(IncidentNotification notification)
    {
        LogNotification(logger, notification.Event, notification.IncidentId, notification.Severity, notification.Tier, notification.TierName, notification.Title, notification.Message);
        foreach (var target in options.Value.Webhooks)
        {
            if (target.Url is not null && notification.Severity <= target.MinSeverity && (target.Tiers.Count == 0 || target.Tiers.Contains(notification.Tier)))
            {
                _deliveries.Writer.TryWrite((target, notification));
            }
        }
    }

    /// <summary>The signature header value for a body, for receivers to check.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var inFlight = new List<Task>();
        try
        {
            await foreach (var (target, notification) in _deliveries.Reader.ReadAllAsync(stoppingToken))
            {
                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(DeliverAsync(target, notification, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(inFlight).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task DeliverAsync(WebhookTarget target, IncidentNotification notification, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(notification, Json);
        var delay = options.Value.WebhookRetryDelay;
        for (var attempt = 1; attempt <= options.Value.WebhookAttempts; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                request.Headers.Add("X-MeshOs-Event", "incident." + notification.Event);
                request.Headers.Add("X-MeshOs-Timestamp", timestamp);
                request.Headers.Add("X-MeshOs-Delivery-Attempt", attempt.ToString(CultureInfo.InvariantCulture));
                if (!string.IsNullOrEmpty(target.Secret))
                {
                    request.Headers.Add("X-MeshOs-Signature", Sign(target.Secret, timestamp, body));
                }

                using var client = httpClients.CreateClient(HttpClientName);
                client.Timeout = options.Value.WebhookTimeout;
                using var response = await client.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                LogDeliveryFailed(logger, target.Name, notification.IncidentId, attempt, $"HTTP {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogDeliveryFailed(logger, target.Name, notification.IncidentId, attempt, ex.GetBaseException().Message);
            }

            if (attempt < options.Value.WebhookAttempts)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay *= 2;
            }
        }

        LogGaveUp(logger, target.Name, notification.IncidentId, options.Value.WebhookAttempts);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Incident {Event}: {IncidentId} [{Severity}] → tier {Tier} ({TierName}): {Title} — {Message}")]
    private static partial void LogNotification(ILogger logger, string @event, string incidentId, IncidentSeverity severity, int tier, string tierName, string title, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Webhook}: delivery of incident {IncidentId} failed (attempt {Attempt}): {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string webhook, string incidentId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {Webhook}: gave up on incident {IncidentId} after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string webhook, string incidentId, int attempts);
}
