using System.CommandLine;
using System.Text.Json.Nodes;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Tenants;

/// <summary>
/// <c>tenants list|get|create|update|disable|enable</c>, <c>tenants keys issue|revoke</c> and
/// <c>tenants grants list|add|revoke</c> over /v1/tenants. Operator key (tenant-admin scope); a tenant key may read
/// and change its own pool grants.
/// </summary>
public sealed class TenantsCommands : ICommandGroup
{
    private static readonly Column[] ListColumns =
    [
        new("Tenant", "id"), new("Name", "name"), new("Kind", "kind"), new("Pools", "pools"), new("Disabled", "disabled"), new("Created", "createdAt"),
    ];

    private static readonly Column[] Fields =
    [
        new("Tenant", "id"), new("Name", "name"), new("Kind", "kind"), new("Disabled", "disabled"), new("Pools", "pools"),
        new("Allowed regions", "allowedRegions"), new("Allowed data classes", "allowedDataClasses"),
        new("Max concurrent jobs", "quotas.maxConcurrentJobs"), new("Submits per second", "quotas.submitsPerSecond"),
        new("Submit burst", "quotas.submitBurst"), new("Max payload bytes", "quotas.maxPayloadBytes"), new("Max queued jobs", "quotas.maxQueuedJobs"),
        new("Created", "createdAt"), new("Updated", "updatedAt"),
    ];

    private static readonly Column[] KeyColumns = [new("Key id", "keyId"), new("Name", "name"), new("Created", "createdAt"), new("Revoked", "revokedAt")];

    public IEnumerable<Command> Create()
    {
        var tenants = new Command("tenants", "Tenants, their API keys and pool grants (operator key).");
        tenants.Subcommands.Add(List());
        tenants.Subcommands.Add(Get());
        tenants.Subcommands.Add(Write("create", "Create a tenant (exit code 4 when the id is taken)."));
        tenants.Subcommands.Add(Write("update", "Change name, kind, quotas, pools, allowed regions or data classes (unset ones keep their value)."));
        tenants.Subcommands.Add(Toggle("disable", "Disable: every key of the tenant stops working."));
        tenants.Subcommands.Add(Toggle("enable", "Enable a disabled tenant."));
        tenants.Subcommands.Add(Keys());
        tenants.Subcommands.Add(Grants());
        yield return tenants;
    }

    private static Argument<string> TenantId() => new("tenant-id") { Description = "The tenant's id." };

    private static string Path(CliContext context, Argument<string> id, string rest = "") => $"/v1/tenants/{Requests.Segment(context.Value(id))}{rest}";

    private static Command List()
    {
        var cursor = new Option<string?>("--cursor") { Description = "The next page (the cursor the previous page printed)." };
        var limit = new Option<int?>("--limit") { Description = "Tenants per page, 1–1,000; default 100." };
        return new Command("list", "Tenants in id order.").With(cursor, limit)
            .WithAction(async (context, ct) => context.PrintPage(await context.Api.GetAsync(
                Requests.Query("/v1/tenants", ("cursor", context.Value(cursor)), ("limit", context.Value(limit))), ct), "tenants", ListColumns));
    }

    private static Command Get()
    {
        var id = TenantId();
        return new Command("get", "A tenant with its quotas, pools and keys (never their secrets).").With(id)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync(Path(context, id), ct), json =>
            {
                Table.WriteFields(context.Out, json, Fields);
                context.Out.WriteLine();
                Table.Write(context.Out, KeyColumns, json.GetProperty("keys").EnumerateArray());
            }));
    }

    /// <summary>create and update: the same settings; create POSTs with the id, update PUTs to it.</summary>
    private static Command Write(string name, string description)
    {
        var id = TenantId();
        var display = new Option<string?>("--name") { Description = "Display name, 1–200 characters (new tenant: the id)." };
        var kind = new Option<string?>("--kind") { Description = "Customer (new tenant's default) or Partner." };
        kind.AcceptOnlyFromAmong("Customer", "Partner");
        var pools = new Option<string[]>("--pool") { Description = "A pool the tenant may submit to (repeatable; replaces the list; new tenant: platform)." };
        var regions = new Option<string[]>("--region") { Description = "An allowed region (repeatable; replaces the list; none: unrestricted)." };
        var classes = new Option<string[]>("--data-class") { Description = "An allowed data class (repeatable; replaces the list; none: unrestricted)." };
        var concurrent = new Option<int?>("--max-concurrent-jobs") { Description = "Quota: jobs leased or running at once." };
        var rate = new Option<double?>("--submits-per-second") { Description = "Quota: sustained submit rate." };
        var burst = new Option<int?>("--submit-burst") { Description = "Quota: submits allowed in a burst." };
        var payload = new Option<int?>("--max-payload-bytes") { Description = "Quota: largest payload." };
        var queued = new Option<int?>("--max-queued-jobs") { Description = "Quota: jobs waiting at once." };
        return new Command(name, description).With(id, display, kind, pools, regions, classes, concurrent, rate, burst, payload, queued)
            .WithAction(async (context, ct) =>
            {
                var quotas = Requests.Body(("maxConcurrentJobs", context.Value(concurrent)), ("submitsPerSecond", context.Value(rate)),
                    ("submitBurst", context.Value(burst)), ("maxPayloadBytes", context.Value(payload)), ("maxQueuedJobs", context.Value(queued)));
                var body = Requests.Body(("name", context.Value(display)), ("kind", context.Value(kind)),
                    ("quotas", quotas.Count == 0 ? null : quotas), ("pools", context.Value(pools)),
                    ("allowedRegions", context.Value(regions)), ("allowedDataClasses", context.Value(classes)));
                var response = name == "create"
                    ? await context.Api.PostAsync("/v1/tenants", Prepend(body, "id", context.Value(id)), ct)
                    : await context.Api.PutAsync(Path(context, id), body, ct);
                return context.PrintFields(response, Fields);
            });
    }

    private static JsonObject Prepend(JsonObject body, string name, string value)
    {
        var result = new JsonObject { [name] = value };
        foreach (var (field, node) in body.ToList())
        {
            body.Remove(field);
            result[field] = node;
        }

        return result;
    }

    private static Command Toggle(string verb, string description)
    {
        var id = TenantId();
        return new Command(verb, description).With(id)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PostAsync(Path(context, id, "/" + verb), null, ct), Fields));
    }

    private static Command Keys()
    {
        var keys = new Command("keys", "Issue and revoke a tenant's API keys.");
        var issueId = TenantId();
        var keyName = new Option<string?>("--name") { Description = "A label for the key, 1–100 characters (default: default)." };
        keys.Subcommands.Add(new Command("issue", "Issue an API key; the key is shown only this once.").With(issueId, keyName)
            .WithAction(async (context, ct) => context.PrintFields(
                await context.Api.PostAsync(Path(context, issueId, "/keys"), Requests.Body(("name", context.Value(keyName))), ct),
                [new("Key id", "keyId"), new("Key", "key"), new("Created", "createdAt")])));
        var revokeId = TenantId();
        var keyId = new Argument<string>("key-id") { Description = "The key's id (tenants get lists them)." };
        keys.Subcommands.Add(new Command("revoke", "Revoke a key at once.").With(revokeId, keyId)
            .WithAction(async (context, ct) => context.Print(
                await context.Api.DeleteAsync(Path(context, revokeId, $"/keys/{Requests.Segment(context.Value(keyId))}"), ct),
                json => Table.Write(context.Out, KeyColumns, json.GetProperty("keys").EnumerateArray()))));
        return keys;
    }

    private static Command Grants()
    {
        Column[] columns = [new("Grantee", "grantee"), new("Pool", "pool"), new("Granted by", "grantedBy"), new("Granted", "grantedAt"), new("Revoked", "revokedAt")];
        var grants = new Command("grants", "Which partners' (or the platform's) agents may serve the tenant's own pools.");
        var listId = TenantId();
        grants.Subcommands.Add(new Command("list", "The tenant's pool grants, active and recently revoked.").With(listId)
            .WithAction(async (context, ct) => context.PrintArray(await context.Api.GetAsync(Path(context, listId, "/grants"), ct), columns)));
        foreach (var (verb, rest, description) in new[]
        {
            ("add", "/grants", "Let the grantee's agents serve one of the tenant's pools."),
            ("revoke", "/grants/revoke", "End a grant: the grantee's agents in the pool are drained."),
        })
        {
            var id = TenantId();
            var grantee = new Argument<string>("grantee") { Description = "A partner tenant's id, or platform." };
            var pool = new Argument<string>("pool") { Description = "One of the tenant's pools." };
            grants.Subcommands.Add(new Command(verb, description).With(id, grantee, pool)
                .WithAction(async (context, ct) => context.PrintFields(await context.Api.PostAsync(Path(context, id, rest),
                    Requests.Body(("grantee", context.Value(grantee)), ("pool", context.Value(pool))), ct), columns)));
        }

        return grants;
    }
}
