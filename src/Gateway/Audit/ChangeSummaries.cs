using System.Globalization;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Incidents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Incidents;
using MeshOs.Gateway.Tenants;

namespace MeshOs.Gateway.Audit;

/// <summary>
/// What each mutation asked, as its audit entry's change digest covers it (the table in COMPLIANCE.md). The fields are
/// the request's own (ids, states, epochs, settings, counts), as given; payloads and results go in by size and SHA-256,
/// never by content, and no secret is ever a field. The job path (submit, start, complete) runs thousands of times a
/// second: a summary there is a handful of short strings and one hash of the payload, nothing serialized.
/// </summary>
public static class ChangeSummaries
{
    /// <summary><c>jobs.submit</c>: the validated spec (the idempotency key is left out: the target's job id derives from it).</summary>
    public static AuditChange Submit(JobSpec spec) => Tags(new AuditChange()
        .Add("type", spec.Type)
        .Add("capability", spec.Capability)
        .Add("pool", spec.Pool)
        .Add("priority", spec.Priority)
        .Add("timeoutMs", Milliseconds(spec.Timeout))
        .Add("maxAttempts", spec.Retry.MaxAttempts)
        .AddContent("payload", spec.PayloadJson), "dataClasses", spec.Classes);

    /// <summary><c>jobs.cancel</c>: the reason as given (null: the default).</summary>
    public static AuditChange Cancel(string? reason) => new AuditChange().Add("reason", reason);

    /// <summary><c>jobs.read</c>: an operator reading a job with its payload and result.</summary>
    public static AuditChange ReadJob(string? jobId) => new AuditChange().Add("jobId", jobId).Add("fields", "payload,result");

    /// <summary><c>agent.register</c>: the registration (its owner is the actor's).</summary>
    public static AuditChange Register(AgentRegistration registration) => new AuditChange()
        .Add("agentId", registration.AgentId)
        .Add("owner", registration.Owner)
        .Add("pool", registration.Pool)
        .Add("capabilities", string.Join(',', registration.Capabilities))
        .Add("maxConcurrency", registration.MaxConcurrency)
        .Add("version", registration.Version)
        .Add("region", registration.Region)
        .Add("costPerHour", registration.CostPerHour.ToString(CultureInfo.InvariantCulture))
        .Add("runtime", registration.Runtime);

    /// <summary><c>agent.heartbeat</c>: the load and how many leases the agent says it holds.</summary>
    public static AuditChange Heartbeat(double load, int inFlight) => new AuditChange().Add("load", load).Add("inFlight", inFlight);

    /// <summary><c>agent.lease</c>: the slots asked for and the wait.</summary>
    public static AuditChange Lease(int slots, double waitSeconds) => new AuditChange().Add("slots", slots).Add("waitSeconds", waitSeconds);

    /// <summary><c>agent.start</c>: the lease's epoch.</summary>
    public static AuditChange Start(long epoch) => new AuditChange().Add("epoch", epoch);

    /// <summary><c>agent.complete</c> / <c>agent.fail</c>: the epoch and the result (its JSON by size and SHA-256), error and usage.</summary>
    public static AuditChange Complete(long epoch, JobResult result) => new AuditChange()
        .Add("epoch", epoch)
        .Add("succeeded", result.Succeeded ? "true" : "false")
        .Add("retryable", result.Retryable ? "true" : "false")
        .AddContent("result", result.ResultJson)
        .Add("error", result.Error)
        .Add("tokensIn", result.Usage.TokensIn)
        .Add("tokensOut", result.Usage.TokensOut)
        .Add("cost", result.Usage.Cost.ToString(CultureInfo.InvariantCulture));

    /// <summary><c>agent.release</c>: the epoch and the reason.</summary>
    public static AuditChange Release(long epoch, string reason) => new AuditChange().Add("epoch", epoch).Add("reason", reason);

    /// <summary><c>agents.drain</c>, <c>agents.deregister</c>, <c>agents.release</c>, <c>agents.restart</c>: the reason as given (null: the default).</summary>
    public static AuditChange AgentAction(string? reason) => new AuditChange().Add("reason", reason);

    /// <summary><c>agents.quarantine</c>: the reason and the probation (null: until released).</summary>
    public static AuditChange Quarantine(string? reason, TimeSpan? probation) =>
        new AuditChange().Add("reason", reason).Add("probationMs", probation is { } p ? Milliseconds(p) : null);

    /// <summary><c>tenants.create</c>: the tenant as it is created (defaults filled in).</summary>
    public static AuditChange CreateTenant(TenantSpec spec) => Tags(Tags(new AuditChange()
        .Add("name", spec.Name)
        .Add("kind", spec.Kind.ToString())
        .Add("maxConcurrentJobs", spec.Quotas.MaxConcurrentJobs)
        .Add("submitsPerSecond", spec.Quotas.SubmitsPerSecond)
        .Add("submitBurst", spec.Quotas.SubmitBurst)
        .Add("maxPayloadBytes", spec.Quotas.MaxPayloadBytes)
        .Add("maxQueuedJobs", spec.Quotas.MaxQueuedJobs)
        .Add("pools", string.Join(',', spec.Pools)), "allowedRegions", spec.AllowedRegions), "allowedDataClasses", spec.AllowedDataClasses);

    /// <summary><c>tenants.update</c>: the changes as given; an unset setting (kept) is null.</summary>
    public static AuditChange UpdateTenant(TenantChanges changes) => new AuditChange()
        .Add("name", changes.Name)
        .Add("kind", changes.Kind?.ToString())
        .Add("maxConcurrentJobs", changes.Quotas?.MaxConcurrentJobs)
        .Add("submitsPerSecond", changes.Quotas?.SubmitsPerSecond)
        .Add("submitBurst", changes.Quotas?.SubmitBurst)
        .Add("maxPayloadBytes", changes.Quotas?.MaxPayloadBytes)
        .Add("maxQueuedJobs", changes.Quotas?.MaxQueuedJobs)
        .Add("pools", changes.Pools is null ? null : string.Join(',', changes.Pools))
        .Add("allowedRegions", changes.AllowedRegions is null ? null : string.Join(',', changes.AllowedRegions))
        .Add("allowedDataClasses", changes.AllowedDataClasses is null ? null : string.Join(',', changes.AllowedDataClasses));

    /// <summary><c>tenants.disable</c> / <c>tenants.enable</c>.</summary>
    public static AuditChange SetDisabled(bool disabled) => new AuditChange().Add("disabled", disabled ? "true" : "false");

    /// <summary><c>tenants.keys.issue</c>: the key's name as given (never its secret: that is made by the change).</summary>
    public static AuditChange IssueKey(string? name) => new AuditChange().Add("name", name);

    /// <summary><c>tenants.keys.revoke</c>, <c>operator-keys.revoke</c>: the key's id.</summary>
    public static AuditChange RevokeKey(string keyId) => new AuditChange().Add("keyId", keyId);

    /// <summary><c>tenants.grants.grant</c> / <c>tenants.grants.revoke</c>: who is granted (or loses) which pool.</summary>
    public static AuditChange PoolGrant(string? grantee, string? pool) => new AuditChange().Add("grantee", grantee).Add("pool", pool);

    /// <summary><c>incidents.open</c>: the alert as given.</summary>
    public static AuditChange OpenIncident(OpenIncidentInput input) => new AuditChange()
        .Add("severity", input.Severity?.ToString())
        .Add("title", input.Title)
        .Add("detail", input.Detail)
        .Add("dedupKey", input.DedupKey)
        .Add("actor", input.Actor);

    /// <summary><c>incidents.acknowledge</c>: who acknowledged (as given).</summary>
    public static AuditChange AcknowledgeIncident(string? actor) => new AuditChange().Add("actor", actor);

    /// <summary><c>incidents.assign</c>: the commander and who assigned.</summary>
    public static AuditChange AssignIncident(string? commander, string? actor) => new AuditChange().Add("commander", commander).Add("actor", actor);

    /// <summary><c>incidents.annotate</c>: the note and who wrote it.</summary>
    public static AuditChange AnnotateIncident(string? message, string? actor) => new AuditChange().Add("message", message).Add("actor", actor);

    /// <summary><c>incidents.advance</c>: the state asked for, the note and who.</summary>
    public static AuditChange AdvanceIncident(IncidentState? state, string? note, string? actor) =>
        new AuditChange().Add("state", state?.ToString()).Add("note", note).Add("actor", actor);

    /// <summary><c>incidents.resolve</c>: the resolution as given and who.</summary>
    public static AuditChange ResolveIncident(string? resolution, string? actor) => new AuditChange().Add("resolution", resolution).Add("actor", actor);

    /// <summary><c>incidents.postmortem</c>: the post-mortem's texts, its action items (count and SHA-256 of them joined by newlines) and author.</summary>
    public static AuditChange AttachPostMortem(PostMortemInput input) => new AuditChange()
        .Add("summary", input.Summary)
        .Add("rootCause", input.RootCause)
        .Add("actionItems", input.ActionItems?.Count ?? 0)
        .AddContent("actionItemsText", input.ActionItems is null ? null : string.Join('\n', input.ActionItems))
        .Add("author", input.Author);

    /// <summary><c>operator-keys.issue</c>: the key's name, owner and scope (never its secret).</summary>
    public static AuditChange IssueOperatorKey(string? name, string? owner, string scope) =>
        new AuditChange().Add("name", name).Add("owner", owner).Add("scope", scope);

    /// <summary><c>compliance.policies.put</c>: the policy as set (rule, mode, severity, scope, enabled, settings).</summary>
    public static AuditChange PutPolicy(CompliancePolicy policy) => new AuditChange()
        .Add("rule", policy.Rule).Add("mode", policy.Mode.ToString()).Add("severity", policy.Severity.ToString())
        .Add("scope", policy.Scope.Kind + ":" + policy.Scope.Name).Add("enabled", policy.Enabled ? "true" : "false")
        .Add("settings", string.Join(",", policy.Settings.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Key + "=" + s.Value)));

    /// <summary><c>compliance.advisories.put</c>: the advisory's score, affected range and publication time (its summary text by digest).</summary>
    public static AuditChange PutAdvisory(VulnerabilityAdvisory advisory) => new AuditChange()
        .Add("cvss", advisory.Cvss.ToString(CultureInfo.InvariantCulture)).Add("introducedIn", advisory.IntroducedIn).Add("fixedIn", advisory.FixedIn)
        .Add("publishedAt", advisory.PublishedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).AddContent("summary", advisory.Summary);

    /// <summary><c>compliance.policies.delete</c>, <c>compliance.advisories.delete</c>: the id (the target names it too).</summary>
    public static AuditChange Remove(string? id) => new AuditChange().Add("id", id);

    /// <summary><c>compliance.findings.waive</c>: why, and until when.</summary>
    public static AuditChange Waive(string? reason, DateTimeOffset until) => new AuditChange()
        .Add("reason", reason).Add("until", until.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    /// <summary><c>budgets.put</c>: the budget as asked (limit, currency, period, span, thresholds, hard limit, scope).</summary>
    public static AuditChange PutBudget(Abstractions.Cost.BudgetSpec spec) => new AuditChange()
        .Add("limit", spec.Limit.ToString(CultureInfo.InvariantCulture)).Add("currency", spec.Currency).Add("period", spec.Period.ToString())
        .Add("from", spec.From?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).Add("to", spec.To?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))
        .Add("alertPercents", string.Join(",", spec.AlertPercents)).Add("hardLimit", spec.HardLimit ? "true" : "false")
        .Add("pool", spec.Pool).Add("capability", spec.Capability);

    /// <summary><c>compliance.scan</c>: nothing asked but the scan.</summary>
    public static AuditChange Scan() => new AuditChange().Add("scope", "mesh");

    /// <summary>
    /// <c>cost.rate-cards.put</c>: when it takes effect (null: now), its currency (null: the mesh's), its rules and
    /// prices as <c>pool/runtime/region=rate</c> and <c>unit/model=price</c> lists in the order given, and the note by digest.
    /// </summary>
    /// <summary><c>cost.recommendations.dismiss</c>: why.</summary>
    public static AuditChange DismissRecommendation(string id, string reason) => new AuditChange().Add("id", id).Add("reason", reason);

    /// <summary><c>cost.autoscale.put</c>: the policy as asked.</summary>
    public static AuditChange PutAutoscale(Abstractions.Cost.AutoscalePolicy policy) => new AuditChange()
        .Add("pool", policy.Pool).Add("enabled", policy.Enabled.ToString()).Add("minAgents", policy.MinAgents).Add("maxAgents", policy.MaxAgents)
        .Add("cooldownSeconds", (long)policy.Cooldown.TotalSeconds);

    public static AuditChange PutRateCard(Abstractions.Cost.RateCardInput card) => new AuditChange()
        .Add("effectiveFrom", card.EffectiveFrom?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))
        .Add("currency", card.Currency)
        .Add("agentRates", string.Join(",", (card.AgentRates.IsDefault ? [] : card.AgentRates)
            .Select(r => r is null ? "null" : $"{r.Pool}/{r.Runtime}/{r.Region}={r.HourlyRate.ToString(CultureInfo.InvariantCulture)}")))
        .Add("unitPrices", string.Join(",", (card.UnitPrices.IsDefault ? [] : card.UnitPrices)
            .Select(p => p is null ? "null" : $"{p.Unit}/{p.Model}={p.Price.ToString(CultureInfo.InvariantCulture)}")))
        .AddContent("note", card.Note);

    /// <summary><c>maintenance.schedule</c>: kind, start, end, title and reason by digest.</summary>
    public static AuditChange ScheduleMaintenance(Abstractions.Kpi.MaintenanceRequest request) => new AuditChange()
        .Add("kind", request.Kind.ToString())
        .Add("start", request.Start.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))
        .Add("end", request.End.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))
        .AddContent("title", request.Title)
        .AddContent("reason", request.Reason);

    private static long Milliseconds(TimeSpan span) => (long)span.TotalMilliseconds;

    /// <summary>A list of compliance tags (regions, data classes), comma-separated; left out when there is none.</summary>
    private static AuditChange Tags(AuditChange change, string name, System.Collections.Immutable.ImmutableArray<string> tags) =>
        tags.IsDefaultOrEmpty ? change : change.Add(name, string.Join(',', tags));
}
