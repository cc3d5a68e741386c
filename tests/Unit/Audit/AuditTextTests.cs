using MeshOs.Abstractions.Audit;

namespace MeshOs.Tests.Unit.Audit;

/// <summary>
/// A refused call with a hostile id (a NUL, 100,000 characters) must still be recorded: the gRPC fuzzer's calls were
/// answered Unavailable because PostgreSQL refused the NUL in the entry's target.
/// </summary>
public sealed class AuditTextTests
{
    [Theory]
    [InlineData("job/\u0000", "job/\uFFFD")]
    [InlineData("incident/a\u0007b\u007F", "incident/a\uFFFDb\uFFFD")]
    [InlineData("agent/\uD83D\uDE42", "agent/\uD83D\uDE42")]
    [InlineData("tenant/acme", "tenant/acme")]
    public void Control_characters_and_lone_surrogates_become_the_replacement_character(string text, string stored) =>
        Assert.Equal(stored, AuditText.Storable(text));

    [Fact]
    public void Lone_surrogates_become_the_replacement_character_and_pairs_stay() // built in code: attributes cannot carry lone surrogates
    {
        Assert.Equal("agent/\uFFFD", AuditText.Storable("agent/" + '\uD83D'));
        Assert.Equal("agent/\uFFFDx", AuditText.Storable("agent/" + '\uDE42' + "x"));
        Assert.Equal("agent/\uD83D\uDE42", AuditText.Storable("agent/" + '\uD83D' + '\uDE42'));
    }

    [Fact]
    public void Long_text_is_cut_to_the_field_limit_and_marked()
    {
        var stored = AuditText.Storable("incident/" + new string('i', 100_000))!;

        Assert.Equal(AuditDraft.MaxFieldLength, stored.Length);
        Assert.EndsWith("i…", stored, StringComparison.Ordinal);
        Assert.Null(AuditText.Storable(null));
    }

    [Fact]
    public void A_storable_draft_cleans_every_text_field()
    {
        var draft = new AuditDraft(new AuditActor("tenant", "k\u0000", "t", "127.0.0.1"), "jobs.cancel", "job/\u0000", "t",
            AuditOutcome.Refused, "NotFound", "r\u0001", "c\u0002", "grpc", null).Storable();

        Assert.Equal(("k\uFFFD", "job/\uFFFD", "r\uFFFD", "c\uFFFD"), (draft.Actor.KeyId, draft.Target, draft.RequestId, draft.CorrelationId));
    }
}
