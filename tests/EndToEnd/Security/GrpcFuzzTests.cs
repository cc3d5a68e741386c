using System.Collections.Concurrent;
using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Hostile input over every RPC of meshos.v1 (<see cref="GrpcCatalog"/>): field values out of range, unknown enum
/// numbers, negative and enormous numbers, bad UTF-8 in string fields, bytes that are not protobuf, broken framing,
/// huge messages, wrong content types and metadata, wrong credentials. Every answer must be a refusal with a status a
/// client can act on (never Unknown or Internal), the process must log no error, and nothing may be written.
/// </summary>
[Collection(HostileInputCollection.Name)]
public sealed class GrpcFuzzTests(HostileInputFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Hostile_grpc_calls_get_client_refusals_and_change_nothing()
    {
        var run = FuzzRun.FromEnvironment(ciCases: 400, fullCases: 10_000);
        var world = fixture.World;
        var hostile = new GrpcHostile(world);
        var cases = hostile.Cases().Sample(run.Cases, new Rnd(run.Seed), 50);

        var before = await world.SnapshotAsync();
        var logStart = world.Mesh.Silo.Output.Length;
        var violations = new ViolationLog();
        var statuses = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        // A huge message may be refused by resetting the whole connection (Kestrel stops a client that keeps sending
        // megabytes after its answer); every other call on that connection would then go unanswered with it. Each huge
        // case gets a connection of its own, the rest share one, four at a time.
        using var wire = new GrpcWire(world.Mesh.Silo.GrpcUrl);
        await Parallel.ForEachAsync(Enumerable.Range(0, cases.Length), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var c = cases[i];
            using var own = c.Family == GrpcHostile.HugeFamily ? new GrpcWire(world.Mesh.Silo.GrpcUrl) : null;
            var (answer, failure) = await hostile.SendAsync(own ?? wire, c);
            var outcome = answer is null ? "no answer" : answer.HttpStatus == 200 ? $"{answer.Status}" : $"HTTP {answer.HttpStatus}";
            statuses.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            if ((answer is null ? failure : GrpcHostile.Judge(c, answer)) is { } rule)
            {
                violations.Add(i, $"{rule}: {c.Method}, {c.Family}", c.ToString(), answer?.ToString() ?? failure!);
            }
        });
        clock.Stop();

        var changes = await world.ChangesAsync(before, await world.SnapshotAsync());
        var errors = ProcessLog.ErrorsSince(world.Mesh.Silo, logStart);
        output.WriteLine($"{cases.Length} hostile gRPC calls in {clock.Elapsed.TotalSeconds:0.0} s (seed {run.Seed}); answers: "
            + string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}×{s.Value}")));
        output.WriteLine("Families: " + string.Join(", ", cases.GroupBy(c => c.Family).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}")));
        output.WriteLine("RPCs: " + string.Join(", ", cases.GroupBy(c => c.Method.ToString()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}")));

        var report = violations.Report("Hostile gRPC input", run, cases.Length)
            + (changes.Count == 0 ? string.Empty : "Written although every call was hostile:\n  " + string.Join("\n  ", changes.Take(30)) + "\n")
            + (errors.Count == 0 ? string.Empty : $"The process logged {errors.Count} error(s):\n  " + string.Join("\n  ", errors.Distinct().Take(15)));
        Assert.True(violations.Count == 0 && changes.Count == 0 && errors.Count == 0, report);
    }
}
