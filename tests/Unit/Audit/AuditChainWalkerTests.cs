using MeshOs.Abstractions.Audit;
using MeshOs.Grains.Audit;
using static MeshOs.Tests.Unit.Audit.AuditCanonicalTests;

namespace MeshOs.Tests.Unit.Audit;

/// <summary>Verification names the first broken entry and why: altered, missing, cut tail, bad checkpoint.</summary>
public sealed class AuditChainWalkerTests
{
    private static readonly AuditCheckpointSigner Signer = new(new byte[32]);
    private static readonly AuditCheckpointSigner OtherSigner = new(Enumerable.Repeat((byte)7, 32).ToArray());

    private static List<AuditEntry> Chain(int count) =>
        [.. AuditChain.Seal(AuditHead.Empty, [.. Enumerable.Range(0, count).Select(i => i % 2 == 0 ? Create : Cancel)], T0).Entries];

    private static AuditVerdict Walk(IReadOnlyList<AuditEntry> entries, long to, params AuditCheckpoint[] checkpoints)
    {
        var walker = new AuditChainWalker(1, to, AuditHead.ZeroHash, checkpoints, Signer);
        foreach (var entry in entries)
        {
            if (!walker.Next(entry))
            {
                break;
            }
        }

        return walker.Finish();
    }

    [Fact]
    public void An_intact_chain_verifies_with_its_checkpoints()
    {
        var chain = Chain(10);

        var verdict = Walk(chain, 10, Signer.Sign(5, chain[4].Hash, T0, AuditCheckpointKind.Periodic), Signer.Sign(10, chain[9].Hash, T0, AuditCheckpointKind.Shutdown));

        Assert.Equal(new AuditVerdict(true, 1, 10, 10, 2, null, null, null), verdict);
    }

    [Fact]
    public void An_altered_field_is_named_by_its_entry()
    {
        var chain = Chain(10);
        Assert.Equal(AuditOutcome.Refused, chain[5].Draft.Outcome);
        chain[5] = chain[5] with { Draft = chain[5].Draft with { Outcome = AuditOutcome.Succeeded, ErrorCode = null } };

        var verdict = Walk(chain, 10);

        Assert.Equal((false, 6L, AuditProblem.Altered, 5L), (verdict.Intact, verdict.BrokenSeq, verdict.Problem, verdict.EntriesChecked));
    }

    [Fact]
    public void An_entry_rewritten_with_a_fresh_hash_breaks_the_link_of_the_next()
    {
        var chain = Chain(10);
        var forged = chain[3].Draft with { Action = "tenants.delete" };
        chain[3] = chain[3] with { Draft = forged, Hash = AuditCanonical.EntryHash(chain[3].PrevHash, 4, chain[3].At, forged) };

        var verdict = Walk(chain, 10);

        Assert.Equal((5L, AuditProblem.Altered), (verdict.BrokenSeq, verdict.Problem));
    }

    [Fact]
    public void A_deleted_entry_is_missing()
    {
        var chain = Chain(10);
        chain.RemoveAt(4);

        var verdict = Walk(chain, 10);

        Assert.Equal((5L, AuditProblem.Missing, 4L), (verdict.BrokenSeq, verdict.Problem, verdict.EntriesChecked));
    }

    [Fact]
    public void A_cut_tail_is_found_against_the_checkpoint()
    {
        var chain = Chain(10);
        var checkpoint = Signer.Sign(9, chain[8].Hash, T0, AuditCheckpointKind.Periodic);

        var verdict = Walk(chain.Take(7).ToList(), 9, checkpoint);

        Assert.Equal((8L, AuditProblem.TruncatedTail, 7L), (verdict.BrokenSeq, verdict.Problem, verdict.EntriesChecked));
    }

    [Fact]
    public void A_checkpoint_with_a_wrong_signature_or_a_hash_the_chain_lacks_is_bad()
    {
        var chain = Chain(10);

        var forged = Walk(chain, 10, OtherSigner.Sign(6, chain[5].Hash, T0, AuditCheckpointKind.Periodic));
        var rewritten = Walk(chain, 10, Signer.Sign(8, chain[2].Hash, T0, AuditCheckpointKind.Periodic));

        Assert.Equal((6L, AuditProblem.BadCheckpoint), (forged.BrokenSeq, forged.Problem));
        Assert.Equal((8L, AuditProblem.BadCheckpoint), (rewritten.BrokenSeq, rewritten.Problem));
    }
}
