using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Jobs;

namespace MeshOs.Tests.Unit.Gateway.Jobs;

public sealed class JobSubmitterTests
{
    private static readonly TenantPrincipal Acme = new("acme", TenantKind.Customer, TenantQuotas.Default, ["acme", "platform"], 1);

    private static readonly SubmitInput Minimal = new(
        Type: "summarize",
        Capability: "llm",
        Pool: null,
        PayloadJson: """{"text":"hello"}""",
        Priority: null,
        Timeout: null,
        MaxAttempts: null,
        InitialBackoff: null,
        MaxBackoff: null,
        BackoffMultiplier: null,
        IdempotencyKey: null);

    // ---- defaults and the spec produced ----

    [Fact]
    public void A_minimal_submission_gets_every_default()
    {
        var spec = JobSubmitter.Validate(Acme, Minimal);

        Assert.Equal(
            new JobSpec("summarize", "llm", "acme", """{"text":"hello"}""", 5, TimeSpan.FromMinutes(5),
                new RetryPolicy(3, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 2.0), null),
            spec);
        Assert.Equal(JobSubmitter.DefaultPriority, spec.Priority);
        Assert.Equal(JobSubmitter.DefaultTimeout, spec.Timeout);
        Assert.Equal(RetryPolicy.Default, spec.Retry);
    }

    [Fact]
    public void Every_field_given_is_carried_into_the_spec()
    {
        var input = new SubmitInput("Report.v2_x:y/z-1", "llm/gpt-4.1_mini", "platform", "[1,2,3]", 9, TimeSpan.FromHours(2),
            7, TimeSpan.FromSeconds(10), TimeSpan.FromHours(3), 1.5, "order-42");

        var spec = JobSubmitter.Validate(Acme, input);

        Assert.Equal(
            new JobSpec("Report.v2_x:y/z-1", "llm/gpt-4.1_mini", "platform", "[1,2,3]", 9, TimeSpan.FromHours(2),
                new RetryPolicy(7, TimeSpan.FromSeconds(10), TimeSpan.FromHours(3), 1.5), "order-42"),
            spec);
    }

    // ---- type ----

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("two words")]
    [InlineData("résumé")]
    [InlineData("a|b")]
    [InlineData("a\n")]
    public void An_invalid_type_is_rejected(string? type) =>
        MeshAssert.Invalid("type", () => JobSubmitter.Validate(Acme, Minimal with { Type = type }));

    [Fact]
    public void A_type_of_100_characters_passes_and_101_does_not()
    {
        Assert.Equal(100, JobSubmitter.Validate(Acme, Minimal with { Type = new string('T', 100) }).Type.Length);
        MeshAssert.Invalid("type", () => JobSubmitter.Validate(Acme, Minimal with { Type = new string('T', 101) }));
    }

    // ---- capability ----

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("LLM")]
    [InlineData("llm gpu")]
    [InlineData("llm:gpu")]
    [InlineData("llm|gpu")]
    public void An_invalid_capability_is_rejected(string? capability) =>
        MeshAssert.Invalid("capability", () => JobSubmitter.Validate(Acme, Minimal with { Capability = capability }));

    [Fact]
    public void A_capability_of_100_characters_passes_and_101_does_not()
    {
        Assert.Equal(100, JobSubmitter.Validate(Acme, Minimal with { Capability = new string('c', 100) }).Capability.Length);
        MeshAssert.Invalid("capability", () => JobSubmitter.Validate(Acme, Minimal with { Capability = new string('c', 101) }));
    }

    // ---- pool ----

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_pool_the_tenants_first_pool_is_used(string? pool) =>
        Assert.Equal("acme", JobSubmitter.Validate(Acme, Minimal with { Pool = pool }).Pool);

    [Fact]
    public void Any_pool_the_tenant_may_use_can_be_named() =>
        Assert.Equal("platform", JobSubmitter.Validate(Acme, Minimal with { Pool = "platform" }).Pool);

    [Theory]
    [InlineData("other")]
    [InlineData("other/acme")]
    [InlineData("acmex")]
    [InlineData("ACME")]
    [InlineData("acme/GPU")]
    [InlineData("Platform")]
    [InlineData("platform/gpu")]
    public void A_pool_the_tenant_may_not_use_is_permission_denied(string pool)
    {
        var ex = MeshAssert.Throws(MeshErrorCode.PermissionDenied, () => JobSubmitter.Validate(Acme, Minimal with { Pool = pool }));

        Assert.StartsWith("pool:", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{pool}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tenant_submits_to_its_own_pools_without_an_operator_listing_them()
    {
        var poolless = Acme with { Pools = [] };

        Assert.Equal("acme", JobSubmitter.Validate(poolless, Minimal).Pool);
        Assert.Equal("acme", JobSubmitter.Validate(poolless, Minimal with { Pool = "acme" }).Pool);
        Assert.Equal("acme/gpu", JobSubmitter.Validate(Acme, Minimal with { Pool = "acme/gpu" }).Pool);
        MeshAssert.Throws(MeshErrorCode.PermissionDenied, () => JobSubmitter.Validate(poolless, Minimal with { Pool = "platform" }));
    }

    // ---- payload ----

    [Fact]
    public void A_payload_is_required() =>
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(Acme, Minimal with { PayloadJson = null }));

    [Theory]
    [InlineData("null")]
    [InlineData("0")]
    [InlineData("\"text\"")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("  { \"a\" : [1, 2.5, true, null, {\"b\": \"c\"}] }  ")]
    public void Any_json_value_is_a_payload(string payload) =>
        Assert.Equal(payload, JobSubmitter.Validate(Acme, Minimal with { PayloadJson = payload }).PayloadJson);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("{'a': 1}")]
    [InlineData("{a: 1}")]
    [InlineData("[1,]")]
    [InlineData("[1] [2]")]
    [InlineData("// comment\n1")]
    [InlineData("undefined")]
    [InlineData("NaN")]
    public void A_payload_that_is_not_json_is_rejected(string payload) =>
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(Acme, Minimal with { PayloadJson = payload }));

    [Fact]
    public void A_payload_at_the_tenants_quota_passes_and_one_byte_more_does_not()
    {
        var tenant = Acme with { Quotas = TenantQuotas.Default with { MaxPayloadBytes = 16 } };
        var atQuota = "\"" + new string('x', 14) + "\""; // 16 bytes
        var overQuota = "\"" + new string('x', 15) + "\""; // 17 bytes

        Assert.Equal(atQuota, JobSubmitter.Validate(tenant, Minimal with { PayloadJson = atQuota }).PayloadJson);
        var ex = MeshAssert.Invalid("payload", () => JobSubmitter.Validate(tenant, Minimal with { PayloadJson = overQuota }));
        Assert.Contains("17 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("16 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_payload_quota_counts_utf8_bytes_not_characters()
    {
        var tenant = Acme with { Quotas = TenantQuotas.Default with { MaxPayloadBytes = 10 } };
        var fourAccents = "\"éééé\""; // 6 characters, 10 bytes
        var fiveAccents = "\"ééééé\""; // 7 characters, 12 bytes

        JobSubmitter.Validate(tenant, Minimal with { PayloadJson = fourAccents });
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(tenant, Minimal with { PayloadJson = fiveAccents }));
    }

    [Fact]
    public void An_oversized_payload_is_refused_for_its_size_before_it_is_parsed()
    {
        var tenant = Acme with { Quotas = TenantQuotas.Default with { MaxPayloadBytes = 8 } };

        var ex = MeshAssert.Invalid("payload", () => JobSubmitter.Validate(tenant, Minimal with { PayloadJson = "not json at all" }));

        Assert.Contains("quota", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_nested_64_deep_passes_and_65_deep_does_not()
    {
        static string Nested(int depth) => new string('[', depth) + new string(']', depth);

        JobSubmitter.Validate(Acme, Minimal with { PayloadJson = Nested(64) });
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(Acme, Minimal with { PayloadJson = Nested(65) }));
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(Acme, Minimal with { PayloadJson = Nested(10_000) }));
    }

    [Fact]
    public void Nested_objects_count_toward_the_depth_too()
    {
        static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{}" + new string('}', depth - 1);

        JobSubmitter.Validate(Acme, Minimal with { PayloadJson = Nested(64) });
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(Acme, Minimal with { PayloadJson = Nested(65) }));
    }

    // ---- priority, timeout ----

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    public void Priorities_0_to_9_pass(int priority) =>
        Assert.Equal(priority, JobSubmitter.Validate(Acme, Minimal with { Priority = priority }).Priority);

    [Theory]
    [InlineData(-1)]
    [InlineData(10)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void Priorities_outside_0_to_9_are_rejected(int priority) =>
        MeshAssert.Invalid("priority", () => JobSubmitter.Validate(Acme, Minimal with { Priority = priority }));

    [Fact]
    public void Timeouts_from_1_second_to_1_day_pass()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), JobSubmitter.Validate(Acme, Minimal with { Timeout = TimeSpan.FromSeconds(1) }).Timeout);
        Assert.Equal(TimeSpan.FromDays(1), JobSubmitter.Validate(Acme, Minimal with { Timeout = TimeSpan.FromDays(1) }).Timeout);
        Assert.Equal(JobSubmitter.MaxTimeout, TimeSpan.FromDays(1));
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(0L)]
    [InlineData(9_999_999L)] // 1 s − 1 tick
    [InlineData(864_000_000_001L)] // 1 day + 1 tick
    public void Timeouts_outside_1_second_to_1_day_are_rejected(long ticks) =>
        MeshAssert.Invalid("timeoutSeconds", () => JobSubmitter.Validate(Acme, Minimal with { Timeout = TimeSpan.FromTicks(ticks) }));

    // ---- retry ----

    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    public void Max_attempts_from_1_to_20_pass(int attempts) =>
        Assert.Equal(attempts, JobSubmitter.Validate(Acme, Minimal with { MaxAttempts = attempts }).Retry.MaxAttempts);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(JobSubmitter.MaxAttemptsLimit + 1)]
    public void Max_attempts_outside_1_to_20_are_rejected(int attempts) =>
        MeshAssert.Invalid("maxAttempts", () => JobSubmitter.Validate(Acme, Minimal with { MaxAttempts = attempts }));

    [Fact]
    public void An_initial_backoff_from_0_to_1_hour_passes()
    {
        Assert.Equal(TimeSpan.Zero, JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.Zero }).Retry.InitialBackoff);
        Assert.Equal(TimeSpan.FromHours(1), JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.FromHours(1) }).Retry.InitialBackoff);
    }

    [Fact]
    public void An_initial_backoff_outside_0_to_1_hour_is_rejected()
    {
        MeshAssert.Invalid("initialBackoffSeconds", () => JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.FromTicks(-1) }));
        MeshAssert.Invalid("initialBackoffSeconds", () => JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1) }));
    }

    [Fact]
    public void The_default_max_backoff_is_5_minutes_or_the_initial_backoff_when_that_is_longer()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.FromSeconds(30) }).Retry.MaxBackoff);
        Assert.Equal(TimeSpan.FromMinutes(20), JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.FromMinutes(20) }).Retry.MaxBackoff);
    }

    [Fact]
    public void A_max_backoff_from_the_initial_backoff_to_1_day_passes()
    {
        var equal = JobSubmitter.Validate(Acme, Minimal with { InitialBackoff = TimeSpan.FromSeconds(5), MaxBackoff = TimeSpan.FromSeconds(5) });
        var day = JobSubmitter.Validate(Acme, Minimal with { MaxBackoff = TimeSpan.FromDays(1) });

        Assert.Equal(TimeSpan.FromSeconds(5), equal.Retry.MaxBackoff);
        Assert.Equal(TimeSpan.FromDays(1), day.Retry.MaxBackoff);
    }

    [Fact]
    public void A_max_backoff_below_the_initial_backoff_or_over_1_day_is_rejected()
    {
        MeshAssert.Invalid("maxBackoffSeconds", () => JobSubmitter.Validate(Acme, Minimal with
        {
            InitialBackoff = TimeSpan.FromSeconds(5),
            MaxBackoff = TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1),
        }));
        MeshAssert.Invalid("maxBackoffSeconds", () => JobSubmitter.Validate(Acme, Minimal with { MaxBackoff = TimeSpan.FromSeconds(0.5) })); // default initial is 1 s
        MeshAssert.Invalid("maxBackoffSeconds", () => JobSubmitter.Validate(Acme, Minimal with { MaxBackoff = TimeSpan.FromDays(1) + TimeSpan.FromTicks(1) }));
        MeshAssert.Invalid("maxBackoffSeconds", () => JobSubmitter.Validate(Acme, Minimal with { MaxBackoff = TimeSpan.FromTicks(-1) }));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(10.0)]
    public void Multipliers_from_1_to_10_pass(double multiplier) =>
        Assert.Equal(multiplier, JobSubmitter.Validate(Acme, Minimal with { BackoffMultiplier = multiplier }).Retry.Multiplier);

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.99)]
    [InlineData(-2.0)]
    [InlineData(10.01)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Multipliers_outside_1_to_10_are_rejected(double multiplier) =>
        MeshAssert.Invalid("backoffMultiplier", () => JobSubmitter.Validate(Acme, Minimal with { BackoffMultiplier = multiplier }));

    // ---- idempotency key ----

    [Fact]
    public void An_empty_idempotency_key_means_none() =>
        Assert.Null(JobSubmitter.Validate(Acme, Minimal with { IdempotencyKey = "" }).IdempotencyKey);

    [Theory]
    [InlineData("k")]
    [InlineData(" ")]
    [InlineData("order 42 / retry #3 ~!@")]
    public void Printable_ascii_idempotency_keys_pass(string key) =>
        Assert.Equal(key, JobSubmitter.Validate(Acme, Minimal with { IdempotencyKey = key }).IdempotencyKey);

    [Fact]
    public void An_idempotency_key_of_200_characters_passes_and_201_does_not()
    {
        Assert.Equal(200, JobSubmitter.Validate(Acme, Minimal with { IdempotencyKey = new string('k', 200) }).IdempotencyKey!.Length);
        MeshAssert.Invalid("idempotencyKey", () => JobSubmitter.Validate(Acme, Minimal with { IdempotencyKey = new string('k', 201) }));
    }

    [Theory]
    [InlineData("line\nbreak")]
    [InlineData("tab\t")]
    [InlineData("del\u007f")]
    [InlineData("nul\0")]
    [InlineData("clé")]
    [InlineData("emoji😀")]
    public void Idempotency_keys_with_other_characters_are_rejected(string key) =>
        MeshAssert.Invalid("idempotencyKey", () => JobSubmitter.Validate(Acme, Minimal with { IdempotencyKey = key }));

    // ---- rule order ----

    [Fact]
    public void The_first_broken_rule_is_the_one_reported()
    {
        var allWrong = new SubmitInput("", "", "other", null, 99, TimeSpan.Zero, 0, TimeSpan.FromDays(2), TimeSpan.Zero, 0, new string('k', 500));

        MeshAssert.Invalid("type", () => JobSubmitter.Validate(Acme, allWrong));
        MeshAssert.Invalid("capability", () => JobSubmitter.Validate(Acme, allWrong with { Type = "t" }));
        MeshAssert.Throws(MeshErrorCode.PermissionDenied, () => JobSubmitter.Validate(Acme, allWrong with { Type = "t", Capability = "c" }));
        MeshAssert.Invalid("payload", () => JobSubmitter.Validate(Acme, allWrong with { Type = "t", Capability = "c", Pool = null }));
        MeshAssert.Invalid("priority", () => JobSubmitter.Validate(Acme, allWrong with { Type = "t", Capability = "c", Pool = null, PayloadJson = "{}" }));
    }

    // ---- IdempotentJobId ----

    [Fact]
    public void The_idempotent_job_id_is_a_fixed_function_of_tenant_and_key()
    {
        // SHA-256("meshos.job|acme|order-1"), version and variant bits set, computed independently.
        Assert.Equal(Guid.Parse("d73a937b-6906-8460-98ed-6c9b9bc52d1d"), JobSubmitter.IdempotentJobId("acme", "order-1"));
        Assert.Equal(JobSubmitter.IdempotentJobId("acme", "order-1"), JobSubmitter.IdempotentJobId("acme", "order-1"));
    }

    [Fact]
    public void The_idempotent_job_id_differs_by_tenant_and_by_key()
    {
        var ids = new[]
        {
            JobSubmitter.IdempotentJobId("acme", "order-1"),
            JobSubmitter.IdempotentJobId("acme", "order-2"),
            JobSubmitter.IdempotentJobId("globex", "order-1"),
            JobSubmitter.IdempotentJobId("acme", "Order-1"),
            JobSubmitter.IdempotentJobId("acme", "order-1 "),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public void The_idempotent_job_id_is_an_rfc_version_8_uuid()
    {
        for (var i = 0; i < 200; i++)
        {
            var id = JobSubmitter.IdempotentJobId($"tenant-{i % 7}", $"key-{i}");
            var text = id.ToString();

            Assert.Equal(8, id.Version);
            Assert.Equal(0b10, id.Variant >> 2); // 10xx: the RFC 4122 / 9562 variant
            Assert.Equal('8', text[14]);
            Assert.Contains(text[19], "89ab");
        }
    }

    [Fact]
    public void ParseJobId_accepts_uuids_and_rejects_anything_else()
    {
        var id = Guid.Parse("0193c5e2-7a3b-7cde-8f01-23456789abcd");

        Assert.Equal(id, JobSubmitter.ParseJobId("0193c5e2-7a3b-7cde-8f01-23456789abcd"));
        Assert.Equal(id, JobSubmitter.ParseJobId("0193C5E2-7A3B-7CDE-8F01-23456789ABCD"));
        MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobSubmitter.ParseJobId(null));
        MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobSubmitter.ParseJobId(""));
        MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobSubmitter.ParseJobId("not-a-uuid"));
    }

    [Fact]
    public void Validate_does_not_depend_on_the_tenants_other_quotas()
    {
        var tight = Acme with { Quotas = new TenantQuotas(1, 0.1, 1, 1_000, 1), Pools = ImmutableArray.Create("acme") };

        Assert.Equal("acme", JobSubmitter.Validate(tight, Minimal).Pool);
    }
}
