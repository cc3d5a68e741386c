using MeshOs.Abstractions.Audit;

namespace MeshOs.Grains.Audit;

/// <summary>
/// Seals drafts onto the chain (pure): each gets the next seq, a time and its hashes. Times never go backwards along
/// the chain (an entry's time is the later of the clock and the head's), so a monthly partition holds a contiguous
/// run of seqs and dropping the oldest months leaves a chain with its start cut, never holes.
/// </summary>
public static class AuditChain
{
    public static (IReadOnlyList<AuditEntry> Entries, AuditHead Head) Seal(AuditHead head, IReadOnlyList<AuditDraft> drafts, DateTimeOffset now)
    {
        var at = AuditCanonical.Truncate(now);
        if (at < head.At)
        {
            at = head.At;
        }

        var entries = new AuditEntry[drafts.Count];
        var (seq, hash) = (head.Seq, head.Hash);
        for (var i = 0; i < drafts.Count; i++)
        {
            seq++;
            var next = AuditCanonical.EntryHash(hash, seq, at, drafts[i]);
            entries[i] = new AuditEntry(seq, at, drafts[i], hash, next);
            hash = next;
        }

        return (entries, drafts.Count == 0 ? head : new AuditHead(seq, hash, at));
    }
}
