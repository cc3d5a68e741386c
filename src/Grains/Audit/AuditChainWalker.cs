using MeshOs.Abstractions.Audit;

namespace MeshOs.Grains.Audit;

/// <summary>
/// Verifies a range of the chain (pure, streaming): fed the entries in seq order, it recomputes each hash, checks the
/// links and the seqs, and checks every checkpoint in the range against its signature and the chain; it stops at the
/// first problem. <see cref="Finish"/> then names the first broken entry and why, or says the range is intact.
/// </summary>
/// <param name="from">The first seq of the range.</param>
/// <param name="to">The last seq the log acknowledged in the range (the head, or the caller's bound).</param>
/// <param name="anchor">The hash the entry before <paramref name="from"/> had (zero hash at seq 1; a boundary checkpoint's after retention).</param>
/// <param name="checkpoints">The checkpoints with seqs in the range.</param>
/// <param name="signer">Checks signatures; null when no key is configured (checkpoints are then not checked).</param>
public sealed class AuditChainWalker(long from, long to, string anchor, IEnumerable<AuditCheckpoint> checkpoints, AuditCheckpointSigner? signer)
{
    private readonly long _from = from;
    private readonly Queue<AuditCheckpoint> _checkpoints = new(signer is null ? [] : checkpoints.Where(c => c.Seq >= from && c.Seq <= to).OrderBy(c => c.Seq));
    private long _expected = from;
    private string _prev = anchor;
    private long _checked;
    private int _checkpointsChecked;
    private (long Seq, AuditProblem Problem, string Detail)? _broken;

    public bool IsBroken => _broken is not null;

    /// <summary>Checks the next entry; false once the chain is found broken (feed no more).</summary>
    public bool Next(AuditEntry entry)
    {
        if (_broken is not null)
        {
            return false;
        }

        if (entry.Seq < _expected)
        {
            return Break(entry.Seq, AuditProblem.Altered, $"Entry {entry.Seq} appears out of order (expected {_expected}).");
        }

        if (entry.Seq > _expected)
        {
            return Break(_expected, AuditProblem.Missing, entry.Seq == _expected + 1
                ? $"Entry {_expected} is missing: the chain goes from {_expected - 1} to {entry.Seq}."
                : $"Entries {_expected}–{entry.Seq - 1} are missing: the chain goes from {_expected - 1} to {entry.Seq}.");
        }

        if (entry.Seq > to)
        {
            return false;
        }

        string recomputed;
        try
        {
            recomputed = AuditCanonical.EntryHash(entry.PrevHash, entry.Seq, entry.At, entry.Draft);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            return Break(entry.Seq, AuditProblem.Altered, $"Entry {entry.Seq} was altered: it holds a value the canonical form cannot have ({ex.Message}).");
        }

        if (!string.Equals(recomputed, entry.Hash, StringComparison.Ordinal))
        {
            return Break(entry.Seq, AuditProblem.Altered, $"Entry {entry.Seq} was altered: its content hashes to {recomputed}, not to its stored hash {entry.Hash}.");
        }

        if (!string.Equals(entry.PrevHash, _prev, StringComparison.Ordinal))
        {
            return Break(entry.Seq, AuditProblem.Altered, $"Entry {entry.Seq} does not follow entry {entry.Seq - 1}: its previous hash is {entry.PrevHash}, the chain has {_prev}.");
        }

        _checked++;
        _prev = entry.Hash;
        _expected = entry.Seq + 1;
        while (_checkpoints.TryPeek(out var checkpoint) && checkpoint.Seq == entry.Seq)
        {
            _checkpoints.Dequeue();
            if (!signer!.IsValid(checkpoint))
            {
                return Break(checkpoint.Seq, AuditProblem.BadCheckpoint, $"The {AuditCanonical.Name(checkpoint.Kind)} checkpoint at entry {checkpoint.Seq} ({checkpoint.At:O}) has a wrong signature.");
            }

            if (!string.Equals(checkpoint.Hash, entry.Hash, StringComparison.Ordinal))
            {
                return Break(checkpoint.Seq, AuditProblem.BadCheckpoint,
                    $"The checkpoint signed at {checkpoint.At:O} says entry {checkpoint.Seq} hashed to {checkpoint.Hash}; the chain has {entry.Hash}: entries up to {checkpoint.Seq} were rewritten.");
            }

            _checkpointsChecked++;
        }

        return true;
    }

    /// <summary>The verdict once every entry of the range was fed (or the walk stopped at a problem).</summary>
    public AuditVerdict Finish()
    {
        if (_broken is null && _expected <= to)
        {
            var last = _expected - 1;
            var signed = _checkpoints.Count > 0 ? $" (a checkpoint signed entry {_checkpoints.Max(c => c.Seq)})" : string.Empty;
            Break(_expected, AuditProblem.TruncatedTail, $"Entries {_expected}–{to} are gone: the log ends at entry {last} but acknowledged entries up to {to}{signed}; the tail was cut.");
        }

        return _broken is { } broken
            ? new AuditVerdict(false, _from, to, _checked, _checkpointsChecked, broken.Seq, broken.Problem, broken.Detail)
            : new AuditVerdict(true, _from, to, _checked, _checkpointsChecked, null, null, null);
    }

    private bool Break(long seq, AuditProblem problem, string detail)
    {
        _broken = (seq, problem, detail);
        return false;
    }
}
