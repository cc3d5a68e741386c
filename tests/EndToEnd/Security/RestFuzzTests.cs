using System.Collections.Concurrent;
using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Hostile input over every REST operation the OpenAPI document lists: random and boundary payloads, huge bodies, deep
/// JSON, bad UTF-8, wrong content types and types, numbers out of range, unknown enum values, duplicate keys, nulls,
/// long strings, odd path segments and query values, wrong credentials and methods. Every answer must be a 4xx with
/// problem details, the process must log no error, and nothing may be written.
/// </summary>
[Collection(HostileInputCollection.Name)]
public sealed class RestFuzzTests(HostileInputFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Hostile_rest_requests_get_4xx_problem_details_and_change_nothing()
    {
        var run = FuzzRun.FromEnvironment(ciCases: 400, fullCases: 10_000);
        var world = fixture.World;
        var hostile = new HostileRest(world, await OpenApiSurface.LoadAsync(world.Mesh.Api.Anonymous));
        var cases = hostile.Cases().Sample(run.Cases, new Rnd(run.Seed), 50);

        var before = await world.SnapshotAsync();
        var logStart = world.Mesh.Silo.Output.Length;
        var violations = new ViolationLog();
        var statuses = new ConcurrentDictionary<int, int>();
        var clock = Stopwatch.StartNew();
        // A huge body is sent with Expect: 100-continue, so that the server can refuse it on its declared length before
        // it is uploaded. HttpClient waits only 1 s for that answer by default and then uploads anyway; on a busy machine
        // the refusal came later, raced the upload, and the request failed while sending. It waits for the answer here.
        using var handler = new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) };
        using var http = new HttpClient(handler) { BaseAddress = world.Mesh.Silo.HttpUrl, Timeout = TimeSpan.FromSeconds(60) };
        await Parallel.ForEachAsync(Enumerable.Range(0, cases.Length), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var answer = await hostile.SendAsync(http, cases[i]);
            statuses.AddOrUpdate(answer.Status, 1, (_, n) => n + 1);
            if (HostileRest.Judge(cases[i], answer) is { } rule)
            {
                violations.Add(i, $"{rule}: {cases[i].Operation.OperationId}, {cases[i].Family}", cases[i].ToString(), answer.ToString());
            }
        });
        clock.Stop();

        var changes = await world.ChangesAsync(before, await world.SnapshotAsync());
        var errors = ProcessLog.ErrorsSince(world.Mesh.Silo, logStart);
        output.WriteLine($"{cases.Length} hostile REST requests in {clock.Elapsed.TotalSeconds:0.0} s (seed {run.Seed}); answers: "
            + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        output.WriteLine("Families: " + string.Join(", ", cases.GroupBy(c => c.Family).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")));

        var report = violations.Report("Hostile REST input", run, cases.Length)
            + (changes.Count == 0 ? string.Empty : "Written although every request was hostile:\n  " + string.Join("\n  ", changes.Take(30)) + "\n")
            + (errors.Count == 0 ? string.Empty : $"The process logged {errors.Count} error(s):\n  " + string.Join("\n  ", errors.Distinct().Take(15)));
        Assert.True(violations.Count == 0 && changes.Count == 0 && errors.Count == 0, report);
    }
}
