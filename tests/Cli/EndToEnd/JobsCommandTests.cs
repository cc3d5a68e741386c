using MeshOs.Testing;
using MeshOs.Tests.Cli.Support;

namespace MeshOs.Tests.Cli.EndToEnd;

/// <summary>jobs submit|get|list|watch|cancel with tenant keys, their errors and exit codes, against a real silo.</summary>
[Collection(MeshCollection.Name)]
public sealed class JobsCommandTests(MeshFixture mesh)
{
    /// <summary>A capability no agent declares: a job for it stays Pending until cancelled.</summary>
    private const string Unserved = "nobody-serves-this";

    [Fact]
    public async Task A_submitted_job_is_got_listed_and_watched_until_it_succeeds()
    {
        var submitted = await mesh.TenantA.RunAsync("jobs", "submit", "--type", "cli.echo", "--capability", "echo",
            "--payload", """{"text":"hello"}""", "--priority", "7", "-o", "json");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        var id = submitted.Json["id"]!.GetValue<string>();
        Assert.Equal(7, submitted.Json["priority"]!.GetValue<int>());
        Assert.Equal("hello", submitted.Json["payload"]!["text"]!.GetValue<string>());

        // watch follows the server-sent events until the job ends; the demo agent runs it.
        var watched = await mesh.TenantA.RunAsync("jobs", "watch", id);
        Assert.True(watched.ExitCode == 0, watched.ToString());
        var lines = watched.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^VERSION\s+STATUS\s+ATTEMPTS\s+AGENT\s+UPDATED$", lines[0]);
        Assert.Matches(@"^\d+\s+Succeeded\s+1\s+demo-agent-001\s", lines[^1]);

        var got = await mesh.TenantA.RunAsync("jobs", "get", id, "-o", "json");
        Assert.True(got.ExitCode == 0, got.ToString());
        Assert.Equal(id, got.Json["id"]!.GetValue<string>());
        Assert.Equal("Succeeded", got.Json["status"]!.GetValue<string>());
        Assert.Equal("demo-agent-001", got.Json["agentId"]!.GetValue<string>());

        var table = await mesh.TenantA.RunAsync("jobs", "get", id);
        Assert.True(table.ExitCode == 0, table.ToString());
        var fields = table.Out.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains($"Id:               {id}", fields);
        Assert.Contains("Status:           Succeeded", fields);
        Assert.Contains("""Payload:          {"text":"hello"}""", fields);

        var listed = await mesh.TenantA.RunAsync("jobs", "list", "--type", "cli.echo", "--status", "Succeeded", "-o", "json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains(id, listed.Json["jobs"]!.AsArray().Select(j => j!["id"]!.GetValue<string>()));
        Assert.All(listed.Json["jobs"]!.AsArray(), j => Assert.Equal("Succeeded", j!["status"]!.GetValue<string>()));

        var listTable = await mesh.TenantA.RunAsync("jobs", "list", "--type", "cli.echo");
        Assert.True(listTable.ExitCode == 0, listTable.ToString());
        Assert.Matches(@"^ID\s+TYPE\s+CAPABILITY\s+POOL\s+STATUS\s+ATTEMPTS\s+AGENT\s+CREATED\n", listTable.Out);
        Assert.Contains(listTable.Out.Split('\n'), l => l.StartsWith(id, StringComparison.Ordinal) && l.Contains("Succeeded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pending_job_is_cancelled_once_then_cancel_is_refused_with_exit_code_4_and_watch_exits_6()
    {
        var id = await SubmitUnservedAsync(mesh.TenantA);

        var cancelled = await mesh.TenantA.RunAsync("jobs", "cancel", id, "--reason", "changed my mind", "-o", "json");
        Assert.True(cancelled.ExitCode == 0, cancelled.ToString());
        Assert.Equal("Cancelled", cancelled.Json["status"]!.GetValue<string>());
        Assert.Equal("changed my mind", cancelled.Json["error"]!.GetValue<string>());

        var again = await mesh.TenantA.RunAsync("jobs", "cancel", id);
        Assert.True(again.ExitCode == 4, again.ToString());
        Assert.StartsWith("error: 409 ", again.Error, StringComparison.Ordinal);
        Assert.Contains("already Cancelled", again.Error, StringComparison.Ordinal);
        Assert.Equal("", again.Out);

        // A job that ended without succeeding: watch prints its last state and exits 6.
        var watched = await mesh.TenantA.RunAsync("jobs", "watch", id, "-o", "json");
        Assert.True(watched.ExitCode == 6, watched.ToString());
        var events = watched.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(events);
        Assert.Equal("Cancelled", System.Text.Json.Nodes.JsonNode.Parse(events[0])!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_follows_a_pending_job_until_another_command_cancels_it()
    {
        var id = await SubmitUnservedAsync(mesh.TenantA);

        var watching = mesh.TenantA.RunAsync("jobs", "watch", id, "-o", "json");
        var cancelled = await mesh.TenantA.RunAsync("jobs", "cancel", id);
        var watched = await watching;

        Assert.True(cancelled.ExitCode == 0, cancelled.ToString());
        Assert.True(watched.ExitCode == 6, watched.ToString());
        var statuses = watched.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(e => System.Text.Json.Nodes.JsonNode.Parse(e)!["status"]!.GetValue<string>()).ToList();
        Assert.Equal("Cancelled", statuses[^1]);
        Assert.All(statuses[..^1], s => Assert.Equal("Pending", s));
    }

    [Fact]
    public async Task A_wrong_key_is_exit_code_3_with_a_message_saying_the_key_was_refused()
    {
        var run = await mesh.Cli.RunAsync("jobs", "list", "--key", "mk.nobody.000000000000.not-a-real-key");

        Assert.True(run.ExitCode == 3, run.ToString());
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("error: 401 Unauthorized", lines[0]);
        Assert.Contains("the server refused the API key", lines[1], StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task An_unknown_job_is_exit_code_2()
    {
        var unknown = Guid.NewGuid().ToString();

        var run = await mesh.TenantA.RunAsync("jobs", "get", unknown);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal($"error: 404 Not found: Job '{unknown}' was not found.", run.Error.Trim());
    }

    [Fact]
    public async Task Tenant_B_cannot_get_watch_or_cancel_tenant_As_job_and_it_stays_pending()
    {
        var id = await SubmitUnservedAsync(mesh.TenantA);

        var got = await mesh.TenantB.RunAsync("jobs", "get", id);
        var watched = await mesh.TenantB.RunAsync("jobs", "watch", id);
        var cancelled = await mesh.TenantB.RunAsync("jobs", "cancel", id);
        var listed = await mesh.TenantB.RunAsync("jobs", "list", "-o", "json");

        Assert.True(got.ExitCode == 2, got.ToString());
        Assert.Equal($"error: 404 Not found: Job '{id}' was not found.", got.Error.Trim());
        Assert.True(watched.ExitCode == 2, watched.ToString());
        Assert.True(cancelled.ExitCode == 2, cancelled.ToString());
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.DoesNotContain(id, listed.Out, StringComparison.Ordinal);
        var mine = await mesh.TenantA.RunAsync("jobs", "get", id, "-o", "json");
        Assert.Equal("Pending", mine.Json["status"]!.GetValue<string>());
        await mesh.TenantA.RunAsync("jobs", "cancel", id);
    }

    [Fact]
    public async Task A_config_file_gives_url_and_key_and_a_flag_overrides_the_file()
    {
        var key = await IssueKeyAsync(mesh.TenantAId);
        using var cli = new Meshctl();
        var config = Path.Combine(cli.Home, "meshctl.json");
        await File.WriteAllTextAsync(config, $$"""{"url": "{{mesh.Url}}", "key": "{{key}}", "output": "json"}""");

        var fromFile = await cli.RunAsync("jobs", "list", "--limit", "1", "--config", config);
        var flagWins = await cli.RunAsync("jobs", "list", "--limit", "1", "--config", config, "--key", "mk.wrong.000000000000.nope");

        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.NotNull(fromFile.Json["jobs"]);
        Assert.True(flagWins.ExitCode == 3, flagWins.ToString());
    }

    [Fact]
    public async Task A_payload_is_read_from_a_file_with_at_and_is_not_taken_for_a_response_file()
    {
        var file = Path.Combine(mesh.TenantA.Home, "payload.json");
        await File.WriteAllTextAsync(file, """{"from": "file", "n": [1, 2]}""");

        var submitted = await mesh.TenantA.RunAsync("jobs", "submit", "--type", "cli.file", "--capability", Unserved, "--payload", "@" + file, "-o", "json");
        var missing = await mesh.TenantA.RunAsync("jobs", "submit", "--type", "cli.file", "--capability", Unserved, "--payload", "@" + file + ".missing");

        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        Assert.Equal("""{"from":"file","n":[1,2]}""", submitted.Json["payload"]!.ToJsonString());
        await mesh.TenantA.RunAsync("jobs", "cancel", submitted.Json["id"]!.GetValue<string>());
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Equal($"error: --payload: file {file}.missing does not exist.", missing.Error.Trim());
    }

    private async Task<string> IssueKeyAsync(string tenantId)
    {
        var issued = await mesh.Operator.RunAsync("tenants", "keys", "issue", tenantId, "-o", "json");
        Assert.True(issued.ExitCode == 0, issued.ToString());
        return issued.Json["key"]!.GetValue<string>();
    }

    private static async Task<string> SubmitUnservedAsync(Meshctl tenant)
    {
        var submitted = await tenant.RunAsync("jobs", "submit", "--type", "cli.wait", "--capability", Unserved, "-o", "json");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        Assert.Equal("Pending", submitted.Json["status"]!.GetValue<string>());
        return submitted.Json["id"]!.GetValue<string>();
    }
}
