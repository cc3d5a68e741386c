using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;

namespace MeshOs.Grains.Compliance;

/// <summary>
/// How a finding moves as checks come in: one finding per (policy, subject), opened by a failing check, resolved by a
/// passing one, re-opened by a later failure, waived by an operator until a time. Every change is kept in its history
/// (when each opened and closed), not only the current state.
/// </summary>
public static class FindingLifecycle
{
    /// <summary>The auditor's own name in a finding's history.</summary>
    public const string Auditor = "compliance";

    /// <summary>The longest waiver: a year (accepted risks come back for review).</summary>
    public static readonly TimeSpan MaxWaiver = TimeSpan.FromDays(365);

    /// <summary>Most changes kept per finding; the oldest after the first go (the opening is always kept).</summary>
    public const int MaxHistory = 100;

    /// <summary>
    /// The finding after <paramref name="check"/>: null when there is none and the check does not fail. Fail, Warn and
    /// Error open (or re-open) it; Pass and Skip resolve an open or waived one. A live waiver holds through failures.
    /// </summary>
    public static ComplianceFinding? Apply(ComplianceFinding? current, CheckResult check)
    {
        var failing = check.Outcome is CheckOutcome.Fail or CheckOutcome.Warn or CheckOutcome.Error;
        var now = check.CheckedAt;
        if (current is null)
        {
            return failing
                ? new ComplianceFinding(check.PolicyId, check.Subject, check.TenantId, check.Severity, FindingState.Open, check.Outcome, check.Message,
                    null, [new FindingChange(now, FindingState.Open, check.Message, Auditor)])
                : null;
        }

        current = ExpireWaiver(current, now);
        if (!failing)
        {
            return current.State == FindingState.Resolved
                ? current
                : Change(current, FindingState.Resolved, check.Message, Auditor, now) with { LastOutcome = check.Outcome, Message = check.Message, WaivedUntil = null };
        }

        var updated = current with { LastOutcome = check.Outcome, Message = check.Message, Severity = check.Severity };
        return current.State == FindingState.Resolved ? Change(updated, FindingState.Open, check.Message, Auditor, now) : updated;
    }

    /// <summary>An operator accepts an open finding until <paramref name="until"/> (at most <see cref="MaxWaiver"/> away), with a reason.</summary>
    public static ComplianceFinding Waive(ComplianceFinding current, string reason, DateTimeOffset until, string by, DateTimeOffset now)
    {
        ValidateWaiver(reason, until, now);
        current = ExpireWaiver(current, now);
        if (current.State != FindingState.Open)
        {
            throw MeshException.Precondition($"Only an open finding can be waived; this one is {current.State}.");
        }

        return Change(current, FindingState.Waived, reason.Trim(), by, now) with { WaivedUntil = until };
    }

    /// <summary>Invalid naming the field unless a waiver has a reason and ends after now, at most <see cref="MaxWaiver"/> away.</summary>
    public static void ValidateWaiver(string? reason, DateTimeOffset until, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw MeshException.Invalid("reason", "required: why the finding is accepted.");
        }

        if (until <= now || until - now > MaxWaiver)
        {
            throw MeshException.Invalid("until", "a time after now and at most 365 days away.");
        }
    }

    /// <summary>A waiver whose time has come ends: the finding is open again (the next check resolves it if it passes).</summary>
    public static ComplianceFinding ExpireWaiver(ComplianceFinding current, DateTimeOffset now) =>
        current is { State: FindingState.Waived, WaivedUntil: { } until } && until <= now
            ? Change(current, FindingState.Open, "the waiver expired", Auditor, until) with { WaivedUntil = null }
            : current;

    private static ComplianceFinding Change(ComplianceFinding finding, FindingState state, string reason, string by, DateTimeOffset at)
    {
        var history = finding.History.Add(new FindingChange(at, state, reason, by));
        if (history.Length > MaxHistory)
        {
            history = history.RemoveAt(1);
        }

        return finding with { State = state, History = history };
    }
}
