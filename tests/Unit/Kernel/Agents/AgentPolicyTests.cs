using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Kernel.Agents;

namespace MeshOs.Tests.Unit.Kernel.Agents;

public sealed class AgentPolicyTests
{
    private static readonly AgentRegistration Valid = new(
        AgentId: "agent-1",
        Owner: "acme",
        Pool: "acme",
        Capabilities: ["llm", "embed"],
        MaxConcurrency: 4,
        Version: "1.2.3",
        Region: "eu-west",
        CostPerHour: 1.25m);

    [Fact]
    public void A_valid_registration_passes() => AgentPolicy.Validate(Valid);

    [Fact]
    public void Registrations_at_every_upper_and_lower_bound_pass()
    {
        AgentPolicy.Validate(Valid with
        {
            AgentId = new string('a', 128),
            Capabilities = [.. Enumerable.Range(0, 64).Select(i => $"cap-{i}")],
            MaxConcurrency = AgentPolicy.MaxConcurrencyLimit,
            Version = new string('v', 64),
            Region = new string('r', 64),
            CostPerHour = 1_000_000m,
        });
        AgentPolicy.Validate(Valid with
        {
            AgentId = "A",
            Capabilities = [new string('c', 100)],
            MaxConcurrency = 1,
            Version = "",
            Region = "",
            CostPerHour = 0m,
        });
    }

    [Theory]
    [InlineData("Agent-1_x.y:z/w")]
    [InlineData("pod:gpu-node-7/worker.3")]
    [InlineData("0")]
    public void Agent_ids_of_letters_digits_and_separators_pass(string id)
    {
        Assert.True(AgentIds.IsValid(id));
        AgentPolicy.Validate(Valid with { AgentId = id });
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("agent 1")]
    [InlineData("agent#1")]
    [InlineData("agent|1")]
    [InlineData("agent\n")]
    [InlineData("agént")]
    public void Invalid_agent_ids_are_rejected(string? id)
    {
        Assert.False(AgentIds.IsValid(id));
        MeshAssert.Invalid("agentId", () => AgentPolicy.Validate(Valid with { AgentId = id! }));
    }

    [Fact]
    public void An_agent_id_over_128_characters_is_rejected() =>
        MeshAssert.Invalid("agentId", () => AgentPolicy.Validate(Valid with { AgentId = new string('a', 129) }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void An_owner_is_required(string? owner) =>
        MeshAssert.Invalid("owner", () => AgentPolicy.Validate(Valid with { Owner = owner! }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Acme")]
    [InlineData("acme gpu")]
    [InlineData("acme|gpu")]
    public void Invalid_pool_names_are_rejected(string? pool) =>
        MeshAssert.Invalid("pool", () => AgentPolicy.Validate(Valid with { Pool = pool! }));

    [Fact]
    public void A_pool_name_over_100_characters_is_rejected() =>
        MeshAssert.Invalid("pool", () => AgentPolicy.Validate(Valid with { Owner = "platform", Pool = new string('p', 101) }));

    [Fact]
    public void Capabilities_are_required() =>
        MeshAssert.Invalid("capabilities", () => AgentPolicy.Validate(Valid with { Capabilities = [] }));

    [Fact]
    public void Default_capabilities_are_rejected() =>
        MeshAssert.Invalid("capabilities", () => AgentPolicy.Validate(Valid with { Capabilities = default }));

    [Fact]
    public void More_than_64_capabilities_are_rejected() =>
        MeshAssert.Invalid("capabilities", () => AgentPolicy.Validate(Valid with
        {
            Capabilities = [.. Enumerable.Range(0, 65).Select(i => $"cap-{i}")],
        }));

    [Theory]
    [InlineData("")]
    [InlineData("LLM")]
    [InlineData("llm gpu")]
    [InlineData("llm:gpu")]
    [InlineData("llm|gpu")]
    public void Invalid_capability_names_are_rejected(string capability)
    {
        Assert.False(AgentPolicy.IsValidCapability(capability));
        var ex = MeshAssert.Invalid("capabilities", () => AgentPolicy.Validate(Valid with { Capabilities = ["llm", capability] }));
        Assert.Contains($"'{capability}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_capability_over_100_characters_is_rejected() =>
        MeshAssert.Invalid("capabilities", () => AgentPolicy.Validate(Valid with { Capabilities = [new string('c', 101)] }));

    [Fact]
    public void A_null_capability_is_rejected()
    {
        Assert.False(AgentPolicy.IsValidCapability(null));
        MeshAssert.Invalid("capabilities", () => AgentPolicy.Validate(Valid with { Capabilities = [null!] }));
    }

    [Theory]
    [InlineData("llm")]
    [InlineData("llm/gpt-4.1_mini")]
    [InlineData("0")]
    public void Capability_names_of_lowercase_digits_and_separators_pass(string capability) =>
        Assert.True(AgentPolicy.IsValidCapability(capability));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(AgentPolicy.MaxConcurrencyLimit + 1)]
    [InlineData(int.MaxValue)]
    public void Max_concurrency_out_of_bounds_is_rejected(int maxConcurrency) =>
        MeshAssert.Invalid("maxConcurrency", () => AgentPolicy.Validate(Valid with { MaxConcurrency = maxConcurrency }));

    [Fact]
    public void A_version_over_64_characters_or_missing_is_rejected()
    {
        MeshAssert.Invalid("version", () => AgentPolicy.Validate(Valid with { Version = new string('v', 65) }));
        MeshAssert.Invalid("version", () => AgentPolicy.Validate(Valid with { Version = null! }));
    }

    [Fact]
    public void A_region_over_64_characters_or_missing_is_rejected()
    {
        MeshAssert.Invalid("region", () => AgentPolicy.Validate(Valid with { Region = new string('r', 65) }));
        MeshAssert.Invalid("region", () => AgentPolicy.Validate(Valid with { Region = null! }));
    }

    [Theory]
    [InlineData("-0.01")]
    [InlineData("-1000")]
    [InlineData("1000000.01")]
    public void Cost_per_hour_out_of_bounds_is_rejected(string cost) =>
        MeshAssert.Invalid("costPerHour", () => AgentPolicy.Validate(Valid with
        {
            CostPerHour = decimal.Parse(cost, System.Globalization.CultureInfo.InvariantCulture),
        }));

    [Fact]
    public void The_first_broken_rule_is_reported()
    {
        var ex = MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => AgentPolicy.Validate(Valid with { AgentId = "", MaxConcurrency = 0 }));

        Assert.StartsWith("agentId:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_directory_shard_is_a_stable_hash_of_the_agent_id()
    {
        // FNV-1a over UTF-16 code units, computed independently: "agent-1" → 1228343888, "acme" → 1457437023.
        Assert.Equal(0, AgentPolicy.DirectoryShard("agent-1", 16));
        Assert.Equal(1228343888 % 7, AgentPolicy.DirectoryShard("agent-1", 7));
        Assert.Equal(15, AgentPolicy.DirectoryShard("acme", 16));
        Assert.Equal(AgentPolicy.DirectoryShard("agent-1", 16), AgentPolicy.DirectoryShard("agent-1", 16));
        Assert.Equal(0, AgentPolicy.DirectoryShard("anything", 1));
    }
}
