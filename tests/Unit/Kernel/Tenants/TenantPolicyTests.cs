using System.Collections.Immutable;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Kernel.Tenants;

namespace MeshOs.Tests.Unit.Kernel.Tenants;

public sealed class TenantPolicyTests
{
    private static readonly TenantSpec Valid = new("Acme Corp", TenantKind.Customer, TenantQuotas.Default, ["acme", "platform"]);

    [Fact]
    public void A_valid_spec_passes() => TenantPolicy.Validate(Valid);

    [Fact]
    public void The_default_quotas_are_valid() =>
        TenantPolicy.Validate(Valid with { Quotas = TenantQuotas.Default });

    [Fact]
    public void A_partner_with_no_pools_passes() =>
        TenantPolicy.Validate(Valid with { Kind = TenantKind.Partner, Pools = [] });

    [Fact]
    public void Every_quota_at_its_lower_bound_passes() =>
        TenantPolicy.Validate(Valid with { Quotas = new TenantQuotas(1, 0.1, 1, 2, 1) });

    [Fact]
    public void Every_quota_at_its_upper_bound_passes() =>
        TenantPolicy.Validate(Valid with { Quotas = new TenantQuotas(1_000_000, 1_000_000, 10_000_000, TenantPolicy.MaxPayloadBytesLimit, 10_000_000) });

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void A_name_is_required(string? name) =>
        MeshAssert.Invalid("name", () => TenantPolicy.Validate(Valid with { Name = name! }));

    [Fact]
    public void A_name_of_200_characters_passes_and_201_does_not()
    {
        TenantPolicy.Validate(Valid with { Name = new string('n', 200) });
        MeshAssert.Invalid("name", () => TenantPolicy.Validate(Valid with { Name = new string('n', 201) }));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    [InlineData(99)]
    public void An_undefined_kind_is_rejected(int kind) =>
        MeshAssert.Invalid("kind", () => TenantPolicy.Validate(Valid with { Kind = (TenantKind)kind }));

    [Fact]
    public void Quotas_are_required() =>
        MeshAssert.Invalid("quotas", () => TenantPolicy.Validate(Valid with { Quotas = null! }));

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1_000_001)]
    public void Max_concurrent_jobs_out_of_bounds_is_rejected(int value) =>
        MeshAssert.Invalid("quotas.maxConcurrentJobs", () => TenantPolicy.Validate(Valid with
        {
            Quotas = TenantQuotas.Default with { MaxConcurrentJobs = value },
        }));

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.09)]
    [InlineData(-1.0)]
    [InlineData(1_000_000.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Submits_per_second_out_of_bounds_is_rejected(double value) =>
        MeshAssert.Invalid("quotas.submitsPerSecond", () => TenantPolicy.Validate(Valid with
        {
            Quotas = TenantQuotas.Default with { SubmitsPerSecond = value },
        }));

    [Theory]
    [InlineData(0)]
    [InlineData(10_000_001)]
    public void Submit_burst_out_of_bounds_is_rejected(int value) =>
        MeshAssert.Invalid("quotas.submitBurst", () => TenantPolicy.Validate(Valid with
        {
            Quotas = TenantQuotas.Default with { SubmitBurst = value },
        }));

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(TenantPolicy.MaxPayloadBytesLimit + 1)]
    public void Max_payload_bytes_out_of_bounds_is_rejected(int value) =>
        MeshAssert.Invalid("quotas.maxPayloadBytes", () => TenantPolicy.Validate(Valid with
        {
            Quotas = TenantQuotas.Default with { MaxPayloadBytes = value },
        }));

    [Theory]
    [InlineData(0)]
    [InlineData(10_000_001)]
    public void Max_queued_jobs_out_of_bounds_is_rejected(int value) =>
        MeshAssert.Invalid("quotas.maxQueuedJobs", () => TenantPolicy.Validate(Valid with
        {
            Quotas = TenantQuotas.Default with { MaxQueuedJobs = value },
        }));

    [Fact]
    public void The_payload_limit_is_4_MiB() => Assert.Equal(4 * 1024 * 1024, TenantPolicy.MaxPayloadBytesLimit);

    [Fact]
    public void Default_pools_are_rejected() =>
        MeshAssert.Invalid("pools", () => TenantPolicy.Validate(Valid with { Pools = default }));

    [Fact]
    public void A_hundred_pools_pass_and_101_do_not()
    {
        TenantPolicy.Validate(Valid with { Pools = [.. Enumerable.Range(0, 100).Select(i => $"pool-{i}")] });
        MeshAssert.Invalid("pools", () => TenantPolicy.Validate(Valid with { Pools = [.. Enumerable.Range(0, 101).Select(i => $"pool-{i}")] }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Acme")]
    [InlineData("acme gpu")]
    [InlineData("acme|gpu")]
    [InlineData("acme:gpu")]
    [InlineData("acmé")]
    public void Invalid_pool_names_are_rejected_by_name(string pool)
    {
        var ex = MeshAssert.Invalid("pools", () => TenantPolicy.Validate(Valid with { Pools = ["acme", pool] }));
        Assert.Contains($"'{pool}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_pool_name_is_rejected() =>
        MeshAssert.Invalid("pools", () => TenantPolicy.Validate(Valid with { Pools = [null!] }));

    [Theory]
    [InlineData("a", true)]
    [InlineData("acme", true)]
    [InlineData("acme/gpu-1.x_y", true)]
    [InlineData("platform", true)]
    [InlineData("0", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("Acme", false)]
    [InlineData("acme gpu", false)]
    [InlineData("acme|gpu", false)]
    [InlineData("acme\n", false)]
    public void IsValidPoolName(string? pool, bool expected) => Assert.Equal(expected, TenantPolicy.IsValidPoolName(pool));

    [Fact]
    public void Pool_names_are_at_most_100_characters()
    {
        Assert.True(TenantPolicy.IsValidPoolName(new string('p', 100)));
        Assert.False(TenantPolicy.IsValidPoolName(new string('p', 101)));
    }
}
