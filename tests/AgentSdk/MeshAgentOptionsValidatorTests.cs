using MeshOs.AgentSdk;
using Microsoft.Extensions.Options;

namespace MeshOs.Tests.AgentSdk;

public sealed class MeshAgentOptionsValidatorTests
{
    private static MeshAgentOptions Valid() => new() { AgentId = "gpu-box:1", Capabilities = ["echo"], EnrollmentToken = "t" };

    [Fact]
    public void Defaults_with_an_id_a_capability_and_a_token_are_valid()
    {
        Assert.True(new MeshAgentOptionsValidator().Validate(null, Valid()).Succeeded);
        Assert.Equal(("platform", 1), (Valid().Pool, Valid().MaxConcurrency));
    }

    [Fact]
    public void Every_problem_is_listed()
    {
        var options = Valid();
        options.AgentId = "has space";
        options.Capabilities = ["Echo"];
        options.MaxConcurrency = 0;
        options.ApiKey = "mk.acme.0123456789ab.abcdefghijklmnopqrstuvwxyz";

        var result = new MeshAgentOptionsValidator().Validate(null, options);
        Assert.Equal(
            [
                "AgentId: 1–128 of letters, digits and - _ . : / is required.",
                "Capabilities: 'Echo' is not a capability name (1–100 of a-z 0-9 - _ . /).",
                "MaxConcurrency: 1–10000.",
                "EnrollmentToken or ApiKey: exactly one is required.",
                "Pool: agents of tenant 'acme' serve its own pools ('acme', 'acme/…') or pools another tenant granted it, never 'platform'.",
            ],
            result.Failures);
    }

    [Fact]
    public void The_agent_refuses_invalid_options()
    {
        var options = Valid();
        options.EnrollmentToken = null;
        var error = Assert.Throws<OptionsValidationException>(() => new MeshAgent(options, (_, _) => Task.FromResult(JobOutcome.Success("{}"))));
        Assert.Equal(["EnrollmentToken or ApiKey: exactly one is required."], error.Failures);
    }
}
