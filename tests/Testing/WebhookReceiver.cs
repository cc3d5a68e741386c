using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace MeshOs.Testing;

/// <summary>One incident notification as the receiver got it: the headers that matter and the JSON body.</summary>
public sealed record ReceivedWebhook(DateTimeOffset ReceivedAt, string? EventHeader, string? Timestamp, string? Signature, string Body)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

    public string Event => Json["event"]!.GetValue<string>();

    public string IncidentId => Json["incidentId"]!.GetValue<string>();

    public int Tier => Json["tier"]!.GetValue<int>();

    public DateTimeOffset SentAt => Json["sentAt"]!.GetValue<DateTimeOffset>();

    /// <summary>The signature the receiver expects: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).</summary>
    public static string ExpectedSignature(string secret, string timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));
}

/// <summary>A webhook endpoint on 127.0.0.1 that answers 200 to every POST and keeps what it received.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly List<ReceivedWebhook> _received = [];
    private readonly Lock _gate = new();
    private readonly Task _loop;

    private WebhookReceiver(HttpListener listener, Uri url)
    {
        _listener = listener;
        Url = url;
        _loop = Task.Run(ListenAsync);
    }

    public Uri Url { get; }

    public static WebhookReceiver Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var url = new Uri($"http://127.0.0.1:{FreePort()}/hooks/incidents/");
            var listener = new HttpListener();
            listener.Prefixes.Add(url.ToString());
            try
            {
                listener.Start();
                return new WebhookReceiver(listener, url);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    /// <summary>Everything received so far about one incident, in arrival order.</summary>
    public IReadOnlyList<ReceivedWebhook> For(string incidentId)
    {
        lock (_gate)
        {
            return [.. _received.Where(r => r.IncidentId == incidentId)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task ListenAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var received = new ReceivedWebhook(DateTimeOffset.UtcNow, context.Request.Headers["X-MeshOs-Event"],
                    context.Request.Headers["X-MeshOs-Timestamp"], context.Request.Headers["X-MeshOs-Signature"], body);
                lock (_gate)
                {
                    _received.Add(received);
                }

                context.Response.StatusCode = (int)HttpStatusCode.OK;
            }
            catch (Exception ex) when (ex is IOException or HttpListenerException or System.Text.Json.JsonException)
            {
                context.Response.StatusCode = (int)HttpStatusCode.BadRequest;
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
