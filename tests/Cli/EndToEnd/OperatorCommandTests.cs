using MeshOs.Tests.Cli.Support;

namespace MeshOs.Tests.Cli.EndToEnd;

/// <summary>incidents, audit, agents and tenants with the operator key, against a real silo.</summary>
[Collection(MeshCollection.Name)]
public sealed class OperatorCommandTests(MeshFixture mesh)
{
    [Fact]
    public async Task An_incident_is_opened_listed_acknowledged_resolved_and_given_a_post_mortem()
    {
        var title = "meshctl test " + Guid.NewGuid().ToString("N")[..8];
        var opened = await mesh.Operator.RunAsync("incidents", "open", "--severity", "P3", "--title", title, "-o", "json");
        Assert.True(opened.ExitCode == 0, opened.ToString());
        var id = opened.Json["incident"]!["incidentId"]!.GetValue<string>();

        var listed = await mesh.Operator.RunAsync("incidents", "list", "--open", "true", "-o", "json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var row = Assert.Single(listed.Json["incidents"]!.AsArray(), i => i!["incidentId"]!.GetValue<string>() == id);
        Assert.Equal(title, row!["title"]!.GetValue<string>());
        var table = await mesh.Operator.RunAsync("incidents", "list", "--severity", "P3");
        Assert.Matches(@"^INCIDENT\s+SEVERITY\s+STATE\s+TITLE\s+COMMANDER\s+TIER\s+DETECTED\n", table.Out);
        Assert.Contains(table.Out.Split('\n'), l => l.StartsWith(id, StringComparison.Ordinal) && l.Contains(title, StringComparison.Ordinal));

        var acked = await mesh.Operator.RunAsync("incidents", "ack", id, "--actor", "alice", "-o", "json");
        Assert.True(acked.ExitCode == 0, acked.ToString());
        Assert.NotNull(acked.Json["incident"]!["acknowledgedAt"]);

        var resolved = await mesh.Operator.RunAsync("incidents", "resolve", id, "--resolution", "restarted it", "-o", "json");
        Assert.True(resolved.ExitCode == 0, resolved.ToString());
        Assert.Equal("Resolved", resolved.Json["incident"]!["state"]!.GetValue<string>());

        var postMortem = await mesh.Operator.RunAsync("incidents", "postmortem", id, "--summary", "it broke", "--root-cause", "a bug",
            "--action-item", "fix the bug", "--action-item", "add a test", "-o", "json");
        Assert.True(postMortem.ExitCode == 0, postMortem.ToString());
        Assert.Equal("PostMortem", postMortem.Json["incident"]!["state"]!.GetValue<string>());
        Assert.Equal(["fix the bug", "add a test"],
            postMortem.Json["incident"]!["postMortem"]!["actionItems"]!.AsArray().Select(a => a!.GetValue<string>()).ToArray());

        var got = await mesh.Operator.RunAsync("incidents", "get", id);
        Assert.True(got.ExitCode == 0, got.ToString());
        Assert.Contains("State:                    PostMortem", got.Out.Split('\n').Select(l => l.TrimEnd()));

        var tenant = await mesh.TenantA.RunAsync("incidents", "list");
        Assert.True(tenant.ExitCode == 3, tenant.ToString());
        Assert.StartsWith("error: 403 ", tenant.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_verify_finds_the_chain_intact_and_a_tenant_key_may_not_verify()
    {
        var verified = await mesh.Operator.RunAsync("audit", "verify", "-o", "json");
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.True(verified.Json["intact"]!.GetValue<bool>());
        Assert.True(verified.Json["entriesChecked"]!.GetValue<long>() > 0, verified.ToString());

        var table = await mesh.Operator.RunAsync("audit", "verify");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal("Intact:               true", table.Out.Split('\n')[0].TrimEnd());

        var tenant = await mesh.TenantA.RunAsync("audit", "verify");
        Assert.True(tenant.ExitCode == 3, tenant.ToString());
    }

    [Fact]
    public async Task Audit_list_shows_the_tenants_own_entries_and_the_operators_filter_by_action()
    {
        var submitted = await mesh.TenantB.RunAsync("jobs", "submit", "--type", "cli.audit", "--capability", "echo", "-o", "json");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        var target = "job/" + submitted.Json["id"]!.GetValue<string>();

        var entries = await mesh.Operator.RunAsync("audit", "list", "--action", "jobs.submit", "--target", target, "-o", "json");
        Assert.True(entries.ExitCode == 0, entries.ToString());
        var entry = Assert.Single(entries.Json["entries"]!.AsArray());
        Assert.Equal(mesh.TenantBId, entry!["draft"]!["tenant"]!.GetValue<string>());

        var other = await mesh.TenantA.RunAsync("audit", "list", "--target", target, "-o", "json");
        Assert.True(other.ExitCode == 0, other.ToString());
        Assert.Empty(other.Json["entries"]!.AsArray());
    }

    [Fact]
    public async Task The_demo_agent_is_listed_quarantined_and_released()
    {
        var listed = await mesh.Operator.RunAsync("agents", "list", "-o", "json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var agent = Assert.Single(listed.Json["agents"]!.AsArray());
        Assert.Equal("demo-agent-001", agent!["agentId"]!.GetValue<string>());

        var quarantined = await mesh.Operator.RunAsync("agents", "quarantine", "demo-agent-001", "--reason", "meshctl test", "-o", "json");
        Assert.True(quarantined.ExitCode == 0, quarantined.ToString());
        Assert.Equal("Quarantined", quarantined.Json["state"]!.GetValue<string>());

        var released = await mesh.Operator.RunAsync("agents", "release", "demo-agent-001", "-o", "json");
        Assert.True(released.ExitCode == 0, released.ToString());
        Assert.NotEqual("Quarantined", released.Json["state"]!.GetValue<string>());

        var unknown = await mesh.Operator.RunAsync("agents", "get", "no-such-agent");
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        var tenant = await mesh.TenantA.RunAsync("agents", "quarantine", "demo-agent-001");
        Assert.True(tenant.ExitCode == 3, tenant.ToString());
    }

    [Fact]
    public async Task Tenants_are_listed_and_got_and_an_existing_id_is_exit_code_4()
    {
        var got = await mesh.Operator.RunAsync("tenants", "get", mesh.TenantAId);
        Assert.True(got.ExitCode == 0, got.ToString());
        var lines = got.Out.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains($"Tenant:                {mesh.TenantAId}", lines);
        Assert.Contains("Pools:                 platform", lines);
        Assert.Matches(@"^KEY ID\s+NAME\s+CREATED\s+REVOKED$", lines.First(l => l.StartsWith("KEY ID", StringComparison.Ordinal)));

        var listed = await mesh.Operator.RunAsync("tenants", "list", "-o", "json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var ids = listed.Json["tenants"]!.AsArray().Select(t => t!["id"]!.GetValue<string>()).ToList();
        Assert.Contains(mesh.TenantAId, ids);
        Assert.Contains(mesh.TenantBId, ids);

        var again = await mesh.Operator.RunAsync("tenants", "create", mesh.TenantAId);
        Assert.True(again.ExitCode == 4, again.ToString());
        Assert.StartsWith("error: 409 ", again.Error, StringComparison.Ordinal);
    }
}
