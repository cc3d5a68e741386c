using System.Globalization;
using System.Runtime.CompilerServices;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Audit;

/// <summary>What an audit query filters by, as a caller gives it (null: any).</summary>
public sealed record AuditFilter(string? Actor, string? Tenant, string? Action, string? Target, DateTimeOffset? From, DateTimeOffset? To, string? Cursor, int? Limit);

/// <summary>A page of entries, newest first, with the cursor of the next (older) page; null at the end.</summary>
public sealed record AuditEntryPage(IReadOnlyList<AuditEntry> Entries, string? NextCursor);

/// <summary>
/// The audit log's query, export and verify, once for every transport. Operators read every entry; a tenant reads the
/// entries about its own objects only (its tenant id on the entry). Verify is the operator's.
/// </summary>
public sealed class AuditService(IGrainFactory grains)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    public async Task<AuditEntryPage> QueryAsync(MeshCaller caller, AuditFilter filter)
    {
        var page = await Audit.QueryAsync(Build(caller, filter));
        return new AuditEntryPage(page.Entries, page.NextBefore?.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Every matching entry, newest first, read page by page (for JSON-lines export); a bad filter throws before the first.</summary>
    public IAsyncEnumerable<AuditEntry> Export(MeshCaller caller, AuditFilter filter, CancellationToken cancellationToken) =>
        PagesAsync(Build(caller, filter with { Limit = MaxLimit }), cancellationToken);

    private async IAsyncEnumerable<AuditEntry> PagesAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var page = await Audit.QueryAsync(query);
            foreach (var entry in page.Entries)
            {
                yield return entry;
            }

            if (page.NextBefore is not { } next)
            {
                yield break;
            }

            query = query with { Before = next };
        }
    }

    /// <summary>Walks the chain over [from, to] (defaults: the oldest kept entry, the head). Operator only.</summary>
    public Task<AuditVerdict> VerifyAsync(MeshCaller caller, long? from, long? to)
    {
        caller.RequireOperator();
        if (from is < 1)
        {
            throw MeshException.Invalid("from", "a seq of 1 or more.");
        }

        if (to is < 1 || (from is { } f && to is { } t && t < f))
        {
            throw MeshException.Invalid("to", "a seq of 1 or more, not below from.");
        }

        return Audit.VerifyAsync(from, to);
    }

    private IAuditGrain Audit => grains.GetGrain<IAuditGrain>(0);

    private static AuditQuery Build(MeshCaller caller, AuditFilter filter)
    {
        var tenant = filter.Tenant;
        if (!caller.IsOperator)
        {
            var own = caller.RequireTenant().TenantId;
            if (tenant is not null && tenant != own)
            {
                throw MeshException.Invalid("tenant", "a tenant key reads its own tenant's entries only.");
            }

            tenant = own;
        }

        long? before = null;
        if (!string.IsNullOrEmpty(filter.Cursor))
        {
            before = long.TryParse(filter.Cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0
                ? seq
                : throw MeshException.Invalid("cursor", "the nextCursor of a previous page.");
        }

        if (filter.From is { } from && filter.To is { } to && from > to)
        {
            throw MeshException.Invalid("from", "must not be after to.");
        }

        return new AuditQuery(Inputs.Filter(filter.Actor, "actor"), Inputs.Filter(tenant, "tenant"), Inputs.Filter(filter.Action, "action"), Inputs.Filter(filter.Target, "target"),
            filter.From, filter.To, before, Inputs.Limit(filter.Limit, DefaultLimit, MaxLimit));
    }
}
