using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Tests.EndToEnd.Kernel;
using MeshOs.Testing;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Failed authentications are logged and limited per client address (OWASP API2 and API4): a silo of its own with
/// MeshOs:Gateway:AuthFailuresPerMinute = 5. The guard turns an address away before any key is checked, so past the
/// limit even a valid key from that address gets 429 until the minute ends: were valid keys still served, a guesser
/// would keep guessing at full speed and learn of a hit from the 200 among the 429s. Requests without credentials guess
/// nothing and are neither counted nor turned away; other addresses are not affected.
/// </summary>
[Collection(AuthFailureCollection.Name)]
public sealed partial class AuthFailureTests(ITestOutputHelper output)
{
    private const int Limit = 5;

    /// <summary>A second loopback address: the silo listens on 127.0.0.1, and Linux routes all of 127/8 to it.</summary>
    private static readonly IPAddress OtherAddress = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Failed_authentications_are_logged_and_an_address_past_the_limit_gets_429_with_retry_after()
    {
        await using var mesh = await KernelMesh.StartAsync(settings: new Dictionary<string, string>
        {
            ["MeshOs:Gateway:AuthFailuresPerMinute"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var tenant = await mesh.CreateTenantAsync();
        var logStart = mesh.Silo.Output.Length;
        var http = mesh.Api.Anonymous;

        string[] badKeys = ["garbage-key-0123456789", $"mk.{tenant.Id}.000000000000.{new string('B', 43)}", tenant.Key[..^4] + "ZZZZ", "op_wrong_operator_key", "not-a-key-at-all"];
        (string Name, string Value)[] bad = [.. badKeys.Select(k => ("x-api-key", k)), ("x-enrollment-token", "et_wrong_token"), ("Authorization", "Bearer wrong-bearer-key")];

        // Up to the limit: 401, each logged.
        for (var i = 0; i < Limit; i++)
        {
            await JobCalls.AssertProblemAsync(await SendAsync(http, "/v1/jobs", bad[i]), HttpStatusCode.Unauthorized);
        }

        // Past it: 429 with Retry-After for every credential from this address, the valid ones too, on REST and gRPC.
        foreach (var credential in new[] { bad[Limit], bad[Limit + 1], ("x-api-key", tenant.Key), ("x-api-key", MeshProcess.OperatorKey), ("x-enrollment-token", MeshProcess.EnrollmentToken) })
        {
            var response = await SendAsync(http, "/v1/jobs", credential);
            var problem = await JobCalls.AssertProblemAsync(response, HttpStatusCode.TooManyRequests);
            var retryAfter = response.Headers.RetryAfter?.Delta?.TotalSeconds;
            Assert.True(retryAfter is >= 1 and <= 60, $"Retry-After: {response.Headers.RetryAfter}");
            Assert.Contains("retry after", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var grpc = await Assert.ThrowsAsync<RpcException>(() => tenant.Jobs.ListAsync(new ListJobsRequest(), tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, grpc.StatusCode);
        Assert.Contains("retry after", grpc.Status.Detail, StringComparison.Ordinal);

        // No credentials: nothing to guess, so neither counted nor turned away.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        await JobCalls.AssertProblemAsync(await http.GetAsync("/v1/jobs"), HttpStatusCode.Unauthorized);

        // Another address has a count of its own: its valid key is served, its bad key is a plain 401.
        using var other = FromAddress(mesh.Silo.HttpUrl, OtherAddress);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(other, "/v1/jobs", ("x-api-key", tenant.Key))).StatusCode);
        await JobCalls.AssertProblemAsync(await SendAsync(other, "/v1/jobs", ("x-api-key", "garbage-from-elsewhere")), HttpStatusCode.Unauthorized);

        // One warning per failed authentication up to the limit, one when the address is turned away, none for the
        // requests turned away after (an attack cannot flood the log); never the presented secret.
        // (The console logger writes on its own thread: the last lines may arrive a moment after the answers.)
        var expected = Enumerable.Range(1, Limit).Select(n => ("127.0.0.1", n)).Append(("127.0.0.2", 1)).ToList();
        var log = await Eventually.WaitAsync(() => Task.FromResult(mesh.Silo.Output[logStart..]),
            text => FailuresIn(text).Count >= expected.Count, TimeSpan.FromSeconds(10));
        var failures = FailuresIn(log);
        output.WriteLine(string.Join("\n", log.Split('\n').Where(l => l.Contains("AuthFailureGuard", StringComparison.Ordinal) || l.Contains("Authentication failed", StringComparison.Ordinal))));
        Assert.Equal(expected, failures);
        Assert.Single(BlockedLine().Matches(log));
        Assert.Contains("Address 127.0.0.1 reached 5 failed authentications", log, StringComparison.Ordinal);
        foreach (var secret in badKeys.Append("et_wrong_token").Append("wrong-bearer-key").Append(tenant.Key))
        {
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }

        // The audit log has the same: one auth.failure per logged failure (the presented key's id, never its secret, as
        // actor), one auth.lockout for the address. The entries are appended without holding up the 401s.
        var audited = await Eventually.WaitAsync(async () => await AuditAsync(other, "auth.failure"), e => e.Count >= expected.Count, TimeSpan.FromSeconds(30));
        Assert.Equal(expected.GroupBy(e => e.Item1).Select(g => (g.Key, g.Count())).Order(),
            audited.GroupBy(e => e!["draft"]!["actor"]!["address"]!.GetValue<string>()).Select(g => (g.Key, g.Count())).Order());
        Assert.Equal(["", "", "", "000000000000", tenant.Key.Split('.')[2]],
            audited.Where(e => e!["draft"]!["actor"]!["address"]!.GetValue<string>() == "127.0.0.1")
                .Select(e => e!["draft"]!["actor"]!["keyId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(audited, e => Assert.Equal(("endpoint/GET /v1/jobs", "Refused", "Unauthenticated"),
            (e!["draft"]!["target"]!.GetValue<string>(), e["draft"]!["outcome"]!.GetValue<string>(), e["draft"]!["errorCode"]!.GetValue<string>())));
        var lockouts = await AuditAsync(other, "auth.lockout");
        Assert.Equal(["address/127.0.0.1"], lockouts.Select(e => e!["draft"]!["target"]!.GetValue<string>()));
        var entries = string.Join("\n", audited.Concat(lockouts).Select(e => e!.ToJsonString()));
        foreach (var secret in badKeys.Append("et_wrong_token").Append("wrong-bearer-key").Append(tenant.Key))
        {
            Assert.DoesNotContain(secret, entries, StringComparison.Ordinal);
        }
    }

    private static async Task<List<System.Text.Json.Nodes.JsonNode?>> AuditAsync(HttpClient http, string action)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/audit?action={action}&limit=1000");
        request.Headers.TryAddWithoutValidation("x-api-key", MeshProcess.OperatorKey);
        return [.. (await MeshApi.EnsureAsync(await http.SendAsync(request), HttpStatusCode.OK))!["entries"]!.AsArray()];
    }

    private static List<(string Address, int Count)> FailuresIn(string log) =>
        [.. FailureLine().Matches(log).Select(m => (m.Groups["address"].Value, int.Parse(m.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture)))];

    [GeneratedRegex(@"Authentication failed from (?<address>[0-9.]+) for /v1/jobs: .*? \((?<count>\d+)/5 this minute\)")]
    private static partial Regex FailureLine();

    [GeneratedRegex(@"reached 5 failed authentications this minute")]
    private static partial Regex BlockedLine();

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string path, (string Name, string Value) credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation(credential.Name, credential.Value);
        return http.SendAsync(request);
    }

    /// <summary>An HTTP client whose connections come from <paramref name="address"/> (bound before connecting).</summary>
    private static HttpClient FromAddress(Uri baseAddress, IPAddress address) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(address, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };
}
