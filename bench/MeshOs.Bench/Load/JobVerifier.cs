using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;
using Npgsql;

namespace MeshOs.Bench.Load;

/// <summary>The end-of-run check: every acknowledged job must be Succeeded. Lost = acknowledged − succeeded.</summary>
public sealed record Verification(long Acknowledged, long Succeeded, long Lost, IReadOnlyList<string> LostExamples, IReadOnlyDictionary<string, long>? StoreCounts);

public static class JobVerifier
{
    /// <summary>
    /// Reads each tenant's Succeeded jobs through the tenant API (gRPC List) and matches them with the ledger. In the
    /// PostgreSQL mode it also counts the job table by status.
    /// </summary>
    public static async Task<Verification> VerifyAsync(MeshTarget target, IReadOnlyList<BenchTenant> tenants, JobLedger ledger)
    {
        var acked = ledger.Jobs.ToList();
        var succeeded = await SucceededAsync(target.Channel, tenants, acked);
        var lost = acked.Where(j => !succeeded.Contains(j.JobId)).ToList();
        var examples = new List<string>();
        foreach (var job in lost.Take(10))
        {
            examples.Add($"{job.JobId}: {await StatusAsync(target.Channel, tenants[job.Tenant], job.JobId)}");
        }

        return new Verification(acked.Count, acked.Count - lost.Count, lost.Count, examples,
            target.DatabaseConnectionString is { } cs ? await StoreCountsAsync(cs) : null);
    }

    private static async Task<HashSet<Guid>> SucceededAsync(GrpcChannel channel, IReadOnlyList<BenchTenant> tenants, List<AckedJob> acked)
    {
        var client = new Jobs.JobsClient(channel);
        var succeeded = new HashSet<Guid>();
        foreach (var tenant in acked.Select(j => j.Tenant).Distinct())
        {
            var headers = new Metadata { { "x-api-key", tenants[tenant].ApiKey } };
            var cursor = string.Empty;
            do
            {
                var page = await ListPageAsync(client, headers, cursor);
                foreach (var job in page.Jobs)
                {
                    succeeded.Add(Guid.Parse(job.JobId));
                }

                cursor = page.NextCursor;
            }
            while (cursor.Length > 0);
        }

        return succeeded;
    }

    /// <summary>One page of Succeeded jobs; a mesh that is briefly unavailable is asked again for up to a minute.</summary>
    private static async Task<ListJobsResponse> ListPageAsync(Jobs.JobsClient client, Metadata headers, string cursor)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            try
            {
                return await client.ListAsync(new ListJobsRequest { Status = JobStatus.Succeeded, Limit = 500, Cursor = cursor }, headers,
                    deadline: DateTime.UtcNow.AddSeconds(30));
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1_000);
            }
        }
    }

    private static async Task<string> StatusAsync(GrpcChannel channel, BenchTenant tenant, Guid jobId)
    {
        try
        {
            var job = await new Jobs.JobsClient(channel).GetAsync(new GetJobRequest { JobId = jobId.ToString() }, new Metadata { { "x-api-key", tenant.ApiKey } });
            return $"{job.Status}, attempts {job.Attempts}, agent {job.AgentId}, error '{job.Error}', updated {job.UpdatedAt?.ToDateTime():O}";
        }
        catch (RpcException ex)
        {
            return $"{ex.StatusCode}: {ex.Status.Detail}";
        }
    }

    private static async Task<IReadOnlyDictionary<string, long>> StoreCountsAsync(string connectionString)
    {
        var names = new[] { "Pending", "Leased", "Running", "Succeeded", "Failed", "Cancelled", "TimedOut", "DeadLettered" };
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT status, count(*) FROM meshos_jobs GROUP BY status ORDER BY status", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var status = reader.GetInt16(0);
            counts[status < names.Length ? names[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = reader.GetInt64(1);
        }

        return counts;
    }
}
