using MeshOs.Abstractions.Audit;
using MeshOs.Grains.Audit;

namespace MeshOs.Tests.Unit.Audit;

/// <summary>
/// The canonical form is a contract with every verifier that will ever read the log: fixed vectors (computed by an
/// independent implementation of COMPLIANCE.md's description) pin it.
/// </summary>
public sealed class AuditCanonicalTests
{
    internal static readonly DateTimeOffset T0 = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_560);

    internal static readonly AuditDraft Create = new(
        new AuditActor("operator", "operator", null, "127.0.0.1"), "tenants.create", "tenant/acme", "acme", AuditOutcome.Succeeded, null, "req-1", "corr-1", "rest", null);

    internal static readonly AuditDraft Cancel = new(
        new AuditActor("tenant", "k-1", "acme", "10.0.0.7"), "jobs.cancel", "job/x", "acme", AuditOutcome.Refused, "NotFound", "req-2", null, "grpc", string.Concat(Enumerable.Repeat("ab", 32)));

    private const string H1 = "2bf98784de38d79b913114936fa7bcded076558fcfd50b9bd9272220e1dc688b";
    private const string H2 = "afdd37ed9082d666f22039e79f704bdcc6e1de09097f4b0b6ec79c52750f6d27";

    [Fact]
    public void An_entry_encodes_as_length_prefixed_fields_led_by_the_version_tag()
    {
        var bytes = AuditCanonical.Entry(1, T0, Create);

        Assert.Equal(191, bytes.Length);
        Assert.StartsWith("000000156d6573686f732e61756469742e656e7472792e763100000001310000001b323033302d30", Convert.ToHexStringLower(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Hashes_chain_from_the_zero_hash_with_known_values_and_times_cut_to_microseconds()
    {
        var (entries, head) = AuditChain.Seal(AuditHead.Empty, [Create, Cancel], T0.AddTicks(8));

        Assert.Equal([(1L, AuditHead.ZeroHash, H1), (2L, H1, H2)], entries.Select(e => (e.Seq, e.PrevHash, e.Hash)));
        Assert.All(entries, e => Assert.Equal(T0, e.At));
        Assert.Equal(new AuditHead(2, H2, T0), head);
    }

    [Fact]
    public void A_checkpoint_mac_and_a_change_digest_have_known_values()
    {
        var key = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"u8.ToArray();
        var checkpoint = new AuditCheckpointSigner(key).Sign(2, H2, new DateTimeOffset(2030, 1, 2, 3, 5, 0, TimeSpan.Zero), AuditCheckpointKind.Periodic);

        Assert.Equal("e039ada3dbdb19e01ee5832fcead9168e890440b721564a704a438624c7ab4c5", checkpoint.Mac);
        Assert.Equal("d914b34292a3938931173b8c9fffad4a77e6d2b7b043f2fcc2225df5f1e9d5e4",
            new AuditChange().Add("type", "build").Add("name", "ci").Add("pool", (string?)null).Digest());
    }

    [Fact]
    public void Times_never_go_backwards_along_the_chain_even_when_the_clock_does()
    {
        var (first, head) = AuditChain.Seal(AuditHead.Empty, [Create], T0);
        var (second, _) = AuditChain.Seal(head, [Cancel], T0.AddSeconds(-30));

        Assert.Equal(first[0].At, second[0].At);
        Assert.Equal(first[0].Hash, second[0].PrevHash);
    }

    [Fact]
    public void A_payload_is_summarised_by_its_size_and_hash_never_its_content()
    {
        var change = new AuditChange().AddContent("payload", "{\"secret\":\"hunter2\"}");

        Assert.Equal(["payload.bytes", "payload.sha256"], change.Fields.Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(change.Fields.Values, v => v!.Contains("hunter2", StringComparison.Ordinal));
        Assert.Equal("20", change.Fields["payload.bytes"]);
    }
}
