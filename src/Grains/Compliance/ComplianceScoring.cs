using MeshOs.Abstractions.Compliance;

namespace MeshOs.Grains.Compliance;

/// <summary>
/// The compliance score: the weight of passed checks ÷ the weight of applicable checks, each weighted by its policy's
/// severity (<see cref="ComplianceWeights"/>: low 1, medium 2, high 4, critical 8). Pass and Warn (within its allowed
/// time) count as passed; Fail and Error as failed; Skip does not apply; a check whose finding an operator waived is
/// left out of both (an accepted risk is neither compliant nor counted against the score) and counted apart.
/// </summary>
public static class ComplianceScoring
{
    public static ComplianceScore Score(IEnumerable<CheckResult> latest, Func<CheckResult, bool> isWaived)
    {
        int passed = 0, failed = 0, warned = 0, errored = 0, skipped = 0, waived = 0;
        long passedWeight = 0, applicableWeight = 0;
        foreach (var check in latest)
        {
            if (check.Outcome == CheckOutcome.Skip)
            {
                skipped++;
                continue;
            }

            if (check.Outcome != CheckOutcome.Pass && isWaived(check))
            {
                waived++;
                continue;
            }

            var weight = ComplianceWeights.Of(check.Severity);
            applicableWeight += weight;
            switch (check.Outcome)
            {
                case CheckOutcome.Pass:
                    passed++;
                    passedWeight += weight;
                    break;
                case CheckOutcome.Warn:
                    warned++;
                    passedWeight += weight;
                    break;
                case CheckOutcome.Fail:
                    failed++;
                    break;
                default:
                    errored++;
                    break;
            }
        }

        var percent = applicableWeight == 0 ? 100m : Math.Round(100m * passedWeight / applicableWeight, 2, MidpointRounding.ToZero);
        return new ComplianceScore(percent, passed, failed, warned, errored, skipped, waived);
    }
}
