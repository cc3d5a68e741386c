using System.Globalization;
using Npgsql;

namespace MeshOs.Bench.Measurement;

/// <summary>
/// Agents the mesh declared Unresponsive so far; the count since a moment is the difference of two reads. In the
/// PostgreSQL mode from the event log every state change is written to (AgentStateChanged events to Unresponsive in
/// <c>meshos_events</c>: exact, and the same in every version of MeshOs); otherwise from the silos' own counter
/// (<c>meshos.agents.state_changes</c> of the MeshOs.Kernel meter, to="Unresponsive", on each silo's /metrics).
/// </summary>
public sealed class AgentStateChanges(IReadOnlyList<Uri> metricsUrls, string? database) : IDisposable
{
    private const string Counter = "meshos_agents_state_changes_total{";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Where the count comes from, for the report.</summary>
    public string Source => database is not null
        ? "AgentStateChanged events to Unresponsive in meshos_events"
        : $"the meshos.agents.state_changes counter at {string.Join(", ", metricsUrls)}";

    /// <summary>State changes into Unresponsive so far; null when they could not be read.</summary>
    public Task<long?> DeclaredUnresponsiveAsync() => database is { } cs ? FromEventsAsync(cs) : FromMetricsAsync();

    public void Dispose() => _http.Dispose();

    private static async Task<long?> FromEventsAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM meshos_events WHERE kind = 0 AND payload -> 'agent' ->> 'to' = 'Unresponsive'", connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (NpgsqlException)
        {
            return null;
        }
    }

    private async Task<long?> FromMetricsAsync()
    {
        long total = 0;
        foreach (var url in metricsUrls)
        {
            string text;
            try
            {
                text = await _http.GetStringAsync(url);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return null;
            }

            foreach (var line in text.Split('\n'))
            {
                // meshos_agents_state_changes_total{from="Healthy",otel_scope_name="MeshOs.Kernel",to="Unresponsive"} 42 1700000000000
                if (line.StartsWith(Counter, StringComparison.Ordinal) && line.Contains("to=\"Unresponsive\"", StringComparison.Ordinal))
                {
                    var value = line[(line.IndexOf('}', StringComparison.Ordinal) + 1)..].Trim().Split(' ')[0];
                    total += (long)double.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }

        return total;
    }
}
