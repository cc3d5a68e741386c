using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Incidents;

namespace MeshOs.Tests.Unit.Incidents;

public sealed class IncidentOptionsValidatorTests
{
    private static List<string> Failures(IncidentOptions options) =>
        new IncidentOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void The_defaults_are_valid() => Assert.Empty(Failures(new IncidentOptions()));

    [Fact]
    public void Every_bad_value_is_named()
    {
        var options = new IncidentOptions
        {
            WebhookAttempts = 0,
            WebhookRetryDelay = TimeSpan.Zero,
            WebhookTimeout = TimeSpan.FromSeconds(-1),
            IndexCapacity = 0,
            Tiers = [new EscalationTier { Name = "", ResponseTime = TimeSpan.Zero }],
            Policies = { [IncidentSeverity.P1] = new SeverityPolicy { StartTier = 2, RenotifyInterval = TimeSpan.FromMinutes(-1) } },
            Webhooks = [new WebhookTarget { Url = new Uri("/relative", UriKind.Relative) }, new WebhookTarget { Url = new Uri("ftp://x/") }],
        };

        Assert.Equal(
        [
            "MeshOs:Incidents:WebhookAttempts must be at least 1.",
            "MeshOs:Incidents:WebhookRetryDelay must be positive.",
            "MeshOs:Incidents:WebhookTimeout must be positive.",
            "MeshOs:Incidents:IndexCapacity must be at least 1.",
            "MeshOs:Incidents:Tiers:0:Name is required.",
            "MeshOs:Incidents:Tiers:0:ResponseTime must be positive.",
            "MeshOs:Incidents:Policies:P1:StartTier must be 1–1 (the configured tiers).",
            "MeshOs:Incidents:Policies:P1:RenotifyInterval must not be negative (zero: never).",
            "MeshOs:Incidents:Webhooks:0:Url must be an absolute http(s) URL.",
            "MeshOs:Incidents:Webhooks:1:Url must be an absolute http(s) URL.",
        ], Failures(options));
    }
}

public sealed class PositiveTimeSpanTests
{
    [Fact]
    public void Zero_and_negative_TimeSpan_options_are_refused_by_name()
    {
        var options = new MeshOs.Grains.Kernel.Jobs.JobOptions { LeaseDuration = TimeSpan.Zero, Retention = TimeSpan.FromSeconds(-1), LingerAfterFinish = TimeSpan.Zero };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true));
        Assert.Equal(["LeaseDuration", "Retention"], results.SelectMany(r => r.MemberNames).Order()); // LingerAfterFinish may be zero
    }

    [Fact]
    public void Healing_and_agent_options_are_checked_too()
    {
        var healing = new MeshOs.Grains.Healing.HealingOptions { TickInterval = TimeSpan.Zero, Probation = TimeSpan.Zero };
        var agents = new MeshOs.Grains.Kernel.Agents.AgentOptions { HeartbeatInterval = TimeSpan.FromSeconds(-5) };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(healing, new(healing), results, validateAllProperties: true));
        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(agents, new(agents), results, validateAllProperties: true));
        Assert.Equal(["HeartbeatInterval", "TickInterval"], results.SelectMany(r => r.MemberNames).Order());
    }
}
