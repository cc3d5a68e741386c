using System.CommandLine;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Compliance;

/// <summary><c>compliance policies|findings|score|scan</c> over /v1/compliance (a tenant: what covers it; scan: a full operator key).</summary>
public sealed class ComplianceCommands : ICommandGroup
{
    public IEnumerable<Command> Create()
    {
        var compliance = new Command("compliance", "Compliance policies, findings and the score.");
        compliance.Subcommands.Add(new Command("policies", "The policies in force.")
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync("/v1/compliance/policies", ct), json =>
                Table.Write(context.Out,
                [
                    new("Policy", "id"), new("Rule", "rule"), new("Mode", "mode"), new("Severity", "severity"), new("Scope", "scope.kind"), new("Scope name", "scope.name"), new("Enabled", "enabled"),
                ], json.GetProperty("policies").EnumerateArray()))));

        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant's findings." };
        var policy = new Option<string?>("--policy") { Description = "Only this policy's findings." };
        var state = new Option<string?>("--state") { Description = "Only findings in this state." };
        state.AcceptOnlyFromAmong("Open", "Resolved", "Waived");
        var limit = new Option<int?>("--limit") { Description = "Findings per page, 1–1,000; default 100." };
        var cursor = new Option<string?>("--cursor") { Description = "The next page (the cursor the previous page printed)." };
        compliance.Subcommands.Add(new Command("findings", "Findings in (policy, subject) order.").With(tenant, policy, state, limit, cursor)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync(Requests.Query("/v1/compliance/findings",
                ("tenant", context.Value(tenant)), ("policy", context.Value(policy)), ("state", context.Value(state)),
                ("limit", context.Value(limit)), ("cursor", context.Value(cursor))), ct), json =>
            {
                Table.Write(context.Out,
                [
                    new("Policy", "policyId"), new("Subject", "subject"), new("Tenant", "tenantId"), new("Severity", "severity"),
                    new("State", "state"), new("Message", "message"),
                ], json.GetProperty("findings").EnumerateArray());
                if (json.TryGetProperty("next", out var next) && next.ValueKind == System.Text.Json.JsonValueKind.String)
                {
                    context.Out.WriteLine($"(more: --cursor {next.GetString()})");
                }
            })));

        var scoreTenant = new Option<string?>("--tenant") { Description = "This tenant's score (default: the whole mesh)." };
        Column[] scoreFields =
        [
            new("Tenant", "tenantId"), new("At", "at"), new("Score (%)", "score.percent"), new("Meets target", "score.meetsTarget"),
            new("Passed", "score.passed"), new("Failed", "score.failed"), new("Waived", "score.waived"), new("Open findings", "openFindings"),
            new("Last scan", "lastScanAt"),
        ];
        compliance.Subcommands.Add(new Command("score", "The compliance score now, against the 95% target.").With(scoreTenant)
            .WithAction(async (context, ct) => context.PrintFields(
                await context.Api.GetAsync(Requests.Query("/v1/compliance/score", ("tenant", context.Value(scoreTenant))), ct), scoreFields)));
        compliance.Subcommands.Add(new Command("scan", "Run the full scan now and print the mesh's score (full operator key).")
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PostAsync("/v1/compliance/scan", null, ct), scoreFields)));
        yield return compliance;
    }
}
