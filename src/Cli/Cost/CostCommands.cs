using System.CommandLine;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Cost;

/// <summary>
/// <c>cost report|kpi|job</c> over /v1/cost and <c>budgets list|set|delete</c> over /v1/tenants/{id}/budgets.
/// A tenant key reads its own; budgets are changed with an operator key (tenant-admin scope).
/// </summary>
public sealed class CostCommands : ICommandGroup
{
    public IEnumerable<Command> Create()
    {
        var cost = new Command("cost", "Costs by tenant, pool, agent or capability; the cost-per-agent KPI; one job's cost.");
        cost.Subcommands.Add(Report());
        cost.Subcommands.Add(Kpi());
        cost.Subcommands.Add(Job());
        yield return cost;
        yield return Budgets();
    }

    private static Command Report()
    {
        var period = new Option<string?>("--period") { Description = "day, month or custom (default: the month so far)." };
        period.AcceptOnlyFromAmong("day", "month", "custom");
        var from = new Option<DateTimeOffset?>("--from") { Description = "Start; with --period a time in the day or month." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End (default: now)." };
        var groupBy = new Option<string?>("--group-by") { Description = "tenant (default), pool, agent or capability." };
        groupBy.AcceptOnlyFromAmong("tenant", "pool", "agent", "capability");
        var interval = new Option<string?>("--interval") { Description = "none (default), hour, day or month: a line per bucket." };
        interval.AcceptOnlyFromAmong("none", "hour", "day", "month");
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant." };
        var pool = new Option<string?>("--pool") { Description = "Only this pool." };
        return new Command("report", "Costs over a period; totals reconcile.").With(period, from, to, groupBy, interval, tenant, pool)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync(Requests.Query("/v1/cost/report",
                ("period", context.Value(period)), ("from", context.Value(from)), ("to", context.Value(to)), ("groupBy", context.Value(groupBy)),
                ("interval", context.Value(interval)), ("tenant", context.Value(tenant)), ("pool", context.Value(pool))), ct), json =>
            {
                context.Out.WriteLine($"{Cells.At(json, "from")} to {Cells.At(json, "to")}, {Cells.At(json, "currency")}, by {Cells.At(json, "groupBy")}");
                Table.Write(context.Out,
                [
                    new("Key", "key"), new("Bucket", "bucket"), new("Allocated", "allocated"), new("Idle", "idle"),
                    new("Idle share", "idleShare"), new("Usage", "usage"), new("Total", "total"),
                ], json.GetProperty("lines").EnumerateArray());
                context.Out.WriteLine($"Total: {Cells.At(json, "total")} {Cells.At(json, "currency")}");
            }));
    }

    private static Command Kpi()
    {
        var period = new Option<string?>("--period") { Description = "day, month or custom." };
        period.AcceptOnlyFromAmong("day", "month", "custom");
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant." };
        var pool = new Option<string?>("--pool") { Description = "Only this pool." };
        return new Command("kpi", "Cost per agent per month against the target.").With(period, tenant, pool)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.GetAsync(Requests.Query("/v1/cost/kpi",
                ("period", context.Value(period)), ("tenant", context.Value(tenant)), ("pool", context.Value(pool))), ct),
            [
                new("From", "from"), new("To", "to"), new("Currency", "currency"), new("Cost", "cost"), new("Agent hours", "agentHours"),
                new("Cost per agent month", "costPerAgentMonth"), new("Target", "target"), new("Meets target", "meetsTarget"),
            ]));
    }

    private static Command Job()
    {
        var id = new Argument<string>("job-id") { Description = "The job's id." };
        return new Command("job", "One job's cost: its share of agent time and its usage.").With(id)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync($"/v1/cost/jobs/{Requests.Segment(context.Value(id))}", ct),
                json => Table.WriteFields(context.Out, json, [.. json.EnumerateObject().Select(p => new Column(p.Name, p.Name))])));
    }

    private static Command Budgets()
    {
        var budgets = new Command("budgets", "A tenant's budgets: spend, state and forecast; set and delete (operator key).");
        var listTenant = new Argument<string>("tenant-id") { Description = "The tenant's id." };
        budgets.Subcommands.Add(new Command("list", "The tenant's budgets with this period's spend, state and forecast.").With(listTenant)
            .WithAction(async (context, ct) => context.PrintArray(
                await context.Api.GetAsync($"/v1/tenants/{Requests.Segment(context.Value(listTenant))}/budgets", ct),
            [
                new("Name", "spec.name"), new("Limit", "spec.limit"), new("Currency", "spec.currency"), new("Hard", "spec.hardLimit"),
                new("Spent", "spent"), new("Percent", "percent"), new("State", "state"), new("Forecast", "forecast"), new("Runs out", "runsOutAt"),
            ])));

        var tenant = new Argument<string>("tenant-id") { Description = "The tenant's id." };
        var name = new Argument<string>("name") { Description = "The budget's name." };
        var limit = new Option<decimal>("--limit") { Description = "The limit, greater than 0.", Required = true };
        var currency = new Option<string>("--currency") { Description = "The mesh's cost currency (ISO 4217).", DefaultValueFactory = _ => "USD" };
        var period = new Option<string?>("--period") { Description = "Monthly (default) or Custom (with --from and --to)." };
        period.AcceptOnlyFromAmong("Monthly", "Custom");
        var from = new Option<DateTimeOffset?>("--from") { Description = "A custom period's start." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "A custom period's end." };
        var alerts = new Option<int[]>("--alert-percent") { Description = "A percentage of the limit that alerts (repeatable; default 80 and 100)." };
        var hard = new Option<bool>("--hard-limit") { Description = "Refuse submits it covers once spend reaches the limit." };
        var pool = new Option<string?>("--pool") { Description = "Only spend in this pool." };
        var capability = new Option<string?>("--capability") { Description = "Only spend on this capability." };
        budgets.Subcommands.Add(new Command("set", "Add or replace a budget.").With(tenant, name, limit, currency, period, from, to, alerts, hard, pool, capability)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PutAsync(
                $"/v1/tenants/{Requests.Segment(context.Value(tenant))}/budgets/{Requests.Segment(context.Value(name))}", Requests.Body(
                    ("limit", context.Value(limit)), ("currency", context.Value(currency)), ("period", context.Value(period)),
                    ("from", context.Value(from)?.ToString("O")), ("to", context.Value(to)?.ToString("O")), ("alertPercents", context.Value(alerts)),
                    ("hardLimit", context.Value(hard) ? true : null), ("pool", context.Value(pool)), ("capability", context.Value(capability))), ct),
            [
                new("Name", "spec.name"), new("Limit", "spec.limit"), new("Currency", "spec.currency"), new("Period", "spec.period"),
                new("Hard limit", "spec.hardLimit"), new("Spent", "spent"), new("State", "state"),
            ])));

        var deleteTenant = new Argument<string>("tenant-id") { Description = "The tenant's id." };
        var deleteName = new Argument<string>("name") { Description = "The budget's name." };
        budgets.Subcommands.Add(new Command("delete", "Remove a budget.").With(deleteTenant, deleteName)
            .WithAction(async (context, ct) =>
            {
                await context.Api.DeleteAsync($"/v1/tenants/{Requests.Segment(context.Value(deleteTenant))}/budgets/{Requests.Segment(context.Value(deleteName))}", ct);
                if (context.Format == OutputFormat.Table)
                {
                    context.Out.WriteLine($"Budget {context.Value(deleteName)} deleted.");
                }

                return ExitCodes.Ok;
            }));
        return budgets;
    }
}
