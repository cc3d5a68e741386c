using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Incidents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Incidents;
using MeshOs.Gateway.Tenants;

namespace MeshOs.Tests.Unit.Gateway.Audit;

/// <summary>What each mutation's change digest covers: exactly the fields COMPLIANCE.md lists, payloads by size and SHA-256 only.</summary>
public sealed class ChangeSummariesTests
{
    private const string Payload = """{"prompt":"secret-ish customer text"}""";

    private static readonly JobSpec Spec = new("build", "gpu", "platform", Payload, 7, TimeSpan.FromSeconds(90),
        new RetryPolicy(4, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), 2.0), "idem-1");

    [Fact]
    public void A_submit_covers_the_spec_and_the_payload_by_size_and_sha256_never_its_content()
    {
        var fields = ChangeSummaries.Submit(Spec).Fields;

        Assert.Equal(new Dictionary<string, string?>
        {
            ["type"] = "build",
            ["capability"] = "gpu",
            ["pool"] = "platform",
            ["priority"] = "7",
            ["timeoutMs"] = "90000",
            ["maxAttempts"] = "4",
            ["payload.bytes"] = "37",
            ["payload.sha256"] = Sha256(Payload),
        }, fields);
        Assert.DoesNotContain(fields.Values, v => v is not null && (v.Contains("secret-ish", StringComparison.Ordinal) || v.Contains("idem-1", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_summary_digest_is_the_sha256_of_its_canonical_fields()
    {
        var summary = ChangeSummaries.Submit(Spec);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(AuditCanonical.Change(summary.Fields))), summary.Digest());
        Assert.Matches("^[0-9a-f]{64}$", summary.Digest());
    }

    [Fact]
    public void A_content_is_hashed_as_utf8_and_the_same_however_often_the_digest_is_read()
    {
        var summary = new AuditChange().AddContent("result", "é€🙂").Add("epoch", 3);

        var first = summary.Digest();

        Assert.Equal(first, summary.Digest());
        Assert.Equal("9", summary.Fields["result.bytes"]);
        Assert.Equal(first, new AuditChange().Add("epoch", "3").Add("result.bytes", "9").Add("result.sha256", Sha256("é€🙂")).Digest());
    }

    [Fact]
    public void A_null_content_is_one_null_field()
    {
        Assert.Equal(new Dictionary<string, string?> { ["result"] = null }, new AuditChange().AddContent("result", null).Fields);
    }

    [Fact]
    public void A_result_covers_epoch_outcome_result_by_digest_error_and_usage()
    {
        var result = new JobResult(false, """{"out":1}""", "boom", true, new JobUsage(10, 20, 0.5m));

        Assert.Equal(new Dictionary<string, string?>
        {
            ["epoch"] = "2",
            ["succeeded"] = "false",
            ["retryable"] = "true",
            ["result.bytes"] = "9",
            ["result.sha256"] = Sha256("""{"out":1}"""),
            ["error"] = "boom",
            ["tokensIn"] = "10",
            ["tokensOut"] = "20",
            ["cost"] = "0.5",
        }, ChangeSummaries.Complete(2, result).Fields);
    }

    [Fact]
    public void A_tenant_update_names_each_setting_given_and_null_for_each_kept()
    {
        var changes = new TenantChanges(null, TenantKind.Partner, new QuotaChanges(8, 2.5, null, null, 1000), ["gpu", "cpu"]);

        Assert.Equal(new Dictionary<string, string?>
        {
            ["name"] = null,
            ["kind"] = "Partner",
            ["maxConcurrentJobs"] = "8",
            ["submitsPerSecond"] = "2.5",
            ["submitBurst"] = null,
            ["maxPayloadBytes"] = null,
            ["maxQueuedJobs"] = "1000",
            ["pools"] = "gpu,cpu",
            ["allowedRegions"] = null,
            ["allowedDataClasses"] = null,
        }, ChangeSummaries.UpdateTenant(changes).Fields);
    }

    [Fact]
    public void A_registration_covers_what_the_agent_declared()
    {
        var registration = new AgentRegistration("a-1", "platform", "gpu", ["llm", "embed"], 4, "1.2.3", "eu-west", 1.25m, "rt-1");

        Assert.Equal(new Dictionary<string, string?>
        {
            ["agentId"] = "a-1",
            ["owner"] = "platform",
            ["pool"] = "gpu",
            ["capabilities"] = "llm,embed",
            ["maxConcurrency"] = "4",
            ["version"] = "1.2.3",
            ["region"] = "eu-west",
            ["costPerHour"] = "1.25",
            ["runtime"] = "rt-1",
        }, ChangeSummaries.Register(registration).Fields);
    }

    [Fact]
    public void Summaries_of_different_requests_differ_and_of_the_same_request_agree()
    {
        Assert.Equal(ChangeSummaries.Cancel("r").Digest(), ChangeSummaries.Cancel("r").Digest());
        Assert.NotEqual(ChangeSummaries.Cancel("r").Digest(), ChangeSummaries.Cancel(null).Digest());
        Assert.NotEqual(ChangeSummaries.Start(1).Digest(), ChangeSummaries.Start(2).Digest());
        Assert.NotEqual(ChangeSummaries.SetDisabled(true).Digest(), ChangeSummaries.SetDisabled(false).Digest());
        Assert.NotEqual(ChangeSummaries.Quarantine("r", null).Digest(), ChangeSummaries.Quarantine("r", TimeSpan.FromMinutes(5)).Digest());
    }

    [Fact]
    public void Incident_changes_cover_their_inputs()
    {
        Assert.Equal(new Dictionary<string, string?> { ["actor"] = "alice" }, ChangeSummaries.AcknowledgeIncident("alice").Fields);
        Assert.Equal(new Dictionary<string, string?> { ["state"] = "Mitigated", ["note"] = "n", ["actor"] = null },
            ChangeSummaries.AdvanceIncident(IncidentState.Mitigated, "n", null).Fields);
        Assert.Equal(new Dictionary<string, string?>
        {
            ["severity"] = "P1",
            ["title"] = "t",
            ["detail"] = null,
            ["dedupKey"] = "k",
            ["actor"] = "bob",
        }, ChangeSummaries.OpenIncident(new OpenIncidentInput(IncidentSeverity.P1, "t", null, "k", "bob")).Fields);
        var postMortem = ChangeSummaries.AttachPostMortem(new PostMortemInput("s", "rc", ["a", "b"], "carol")).Fields;
        Assert.Equal(("2", Sha256("a\nb")), (postMortem["actionItems"], postMortem["actionItemsText.sha256"]));
    }

    [Fact]
    public void Key_issues_never_carry_a_secret_only_what_was_asked()
    {
        Assert.Equal(new Dictionary<string, string?> { ["name"] = "ci" }, ChangeSummaries.IssueKey("ci").Fields);
        Assert.Equal(new Dictionary<string, string?> { ["name"] = "n", ["owner"] = "o", ["scope"] = "ReadOnly" },
            ChangeSummaries.IssueOperatorKey("n", "o", "ReadOnly").Fields);
        Assert.Equal(new Dictionary<string, string?> { ["keyId"] = "k1" }, ChangeSummaries.RevokeKey("k1").Fields);
    }

    [Fact]
    public void Heartbeat_lease_and_release_cover_their_numbers()
    {
        Assert.Equal(new Dictionary<string, string?> { ["load"] = "0.25", ["inFlight"] = "3" }, ChangeSummaries.Heartbeat(0.25, 3).Fields);
        Assert.Equal(new Dictionary<string, string?> { ["slots"] = "2", ["waitSeconds"] = "20" }, ChangeSummaries.Lease(2, 20).Fields);
        Assert.Equal(new Dictionary<string, string?> { ["epoch"] = "5", ["reason"] = "busy" }, ChangeSummaries.Release(5, "busy").Fields);
        Assert.Equal(ImmutableSortedSet.Create("jobId", "fields"), ChangeSummaries.ReadJob("j").Fields.Keys.ToImmutableSortedSet());
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("é€🙂")]
    [InlineData("lone \uD800 surrogate")]
    [InlineData("")]
    public void The_canonical_bytes_are_length_prefixed_utf8_as_the_text_says(string value)
    {
        var expected = new List<byte>();
        foreach (var field in new[] { AuditCanonical.ChangeTag, "a", value, "b", null, "long", new string('x', 3000) })
        {
            var utf8 = field is null ? null : Encoding.UTF8.GetBytes(field);
            var length = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(length, utf8 is null ? uint.MaxValue : (uint)utf8.Length);
            expected.AddRange(length);
            expected.AddRange(utf8 ?? []);
        }

        var fields = new Dictionary<string, string?> { ["long"] = new string('x', 3000), ["b"] = null, ["a"] = value };

        Assert.Equal(expected, AuditCanonical.Change(fields));
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
