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

/// <summary>A budget alert as webhooks receive it (JSON body, event header <c>budget.threshold-crossed</c>).</summary>
public sealed record BudgetNotification(
    string Event,
    string TenantId,
    string Budget,
    int ThresholdPercent,
    decimal Spent,
    decimal Limit,
    string Currency,
    bool HardLimit,
    string State,
    decimal Forecast,
    DateTimeOffset? RunsOutAt,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    DateTimeOffset SentAt);

/// <summary>A maintenance announcement as webhooks receive it (event header <c>maintenance.scheduled</c> or <c>maintenance.cancelled</c>).</summary>
public sealed record MaintenanceNotification(
    string Event,
    string WindowId,
    string Kind,
    DateTimeOffset Start,
    DateTimeOffset End,
    string Title,
    string? Reason,
    DateTimeOffset SentAt);

/// <summary>
/// Sends incident notifications (and budget alerts) to the log and to the configured webhooks, off the caller's path:
/// each delivery is retried with exponential backoff until it succeeds (2xx) or runs out of attempts. Requests are
/// signed: <c>X-MeshOs-Timestamp</c> (Unix seconds) and
/// <c>X-MeshOs-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))</c>.
/// </summary>
public sealed partial class IncidentNotifier(
    IHttpClientFactory httpClients,
    IOptions<IncidentOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<IncidentNotifier> logger) : BackgroundService
{
    public const string HttpClientName = "meshos-webhooks";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly Channel<(WebhookTarget Target, Delivery Delivery)> _deliveries = Channel.CreateUnbounded<(WebhookTarget, Delivery)>();

    /// <summary>One notification to send: its event header, what it is about (for the log) and its body.</summary>
    private sealed record Delivery(string Event, string Subject, string Body);

    /// <summary>Logs the notification and queues it for every webhook whose filters match.</summary>
    public void Notify(IncidentNotification notification)
    {
        LogNotification(logger, notification.Event, notification.IncidentId, notification.Severity, notification.Tier, notification.TierName, notification.Title, notification.Message);
        foreach (var target in options.Value.Webhooks)
        {
            if (target.Url is not null && notification.Severity <= target.MinSeverity && (target.Tiers.Count == 0 || target.Tiers.Contains(notification.Tier)))
            {
                _deliveries.Writer.TryWrite((target, new Delivery("incident." + notification.Event, notification.IncidentId, JsonSerializer.Serialize(notification, Json))));
            }
        }
    }

    /// <summary>
    /// Logs a budget alert and queues it for every webhook that takes budget alerts (<see cref="WebhookTarget.BudgetAlerts"/>):
    /// a threshold below 100% counts as P3 for the severity filter, the limit reached as P2.
    /// </summary>
    public void NotifyBudget(BudgetNotification notification)
    {
        LogBudgetAlert(logger, notification.TenantId, notification.Budget, notification.ThresholdPercent, notification.Spent, notification.Limit, notification.Currency);
        var severity = notification.ThresholdPercent >= 100 ? IncidentSeverity.P2 : IncidentSeverity.P3;
        foreach (var target in options.Value.Webhooks)
        {
            if (target.Url is not null && target.BudgetAlerts && severity <= target.MinSeverity)
            {
                _deliveries.Writer.TryWrite((target, new Delivery("budget." + notification.Event, $"{notification.TenantId}/{notification.Budget}",
                    JsonSerializer.Serialize(notification, Json))));
            }
        }
    }

    /// <summary>Logs a maintenance announcement and queues it for every webhook that takes them (<see cref="WebhookTarget.MaintenanceNotices"/>).</summary>
    public void NotifyMaintenance(MaintenanceNotification notification)
    {
        LogMaintenance(logger, notification.Event, notification.WindowId, notification.Kind, notification.Start, notification.End, notification.Title);
        foreach (var target in options.Value.Webhooks)
        {
            if (target.Url is not null && target.MaintenanceNotices)
            {
                _deliveries.Writer.TryWrite((target, new Delivery("maintenance." + notification.Event, notification.WindowId, JsonSerializer.Serialize(notification, Json))));
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
            await foreach (var (target, delivery) in _deliveries.Reader.ReadAllAsync(stoppingToken))
            {
                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(DeliverAsync(target, delivery, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(inFlight).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task DeliverAsync(WebhookTarget target, Delivery delivery, CancellationToken cancellationToken)
    {
        var body = delivery.Body;
        var delay = options.Value.WebhookRetryDelay;
        for (var attempt = 1; attempt <= options.Value.WebhookAttempts; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                request.Headers.Add("X-MeshOs-Event", delivery.Event);
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

                LogDeliveryFailed(logger, target.Name, delivery.Subject, attempt, $"HTTP {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogDeliveryFailed(logger, target.Name, delivery.Subject, attempt, ex.GetBaseException().Message);
            }

            if (attempt < options.Value.WebhookAttempts)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay *= 2;
            }
        }

        LogGaveUp(logger, target.Name, delivery.Subject, options.Value.WebhookAttempts);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Incident {Event}: {IncidentId} [{Severity}] → tier {Tier} ({TierName}): {Title} — {Message}")]
    private static partial void LogNotification(ILogger logger, string @event, string incidentId, IncidentSeverity severity, int tier, string tierName, string title, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget alert: tenant {TenantId}, budget {Budget} crossed {Percent}% ({Spent} of {Limit} {Currency})")]
    private static partial void LogBudgetAlert(ILogger logger, string tenantId, string budget, int percent, decimal spent, decimal limit, string currency);

    [LoggerMessage(Level = LogLevel.Information, Message = "Maintenance {Event}: {WindowId} ({Kind}) {Start:O} – {End:O}: {Title}")]
    private static partial void LogMaintenance(ILogger logger, string @event, string windowId, string kind, DateTimeOffset start, DateTimeOffset end, string title);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Webhook}: delivery about {Subject} failed (attempt {Attempt}): {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string webhook, string subject, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {Webhook}: gave up on the notification about {Subject} after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string webhook, string subject, int attempts);
}
