using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using Microsoft.AspNetCore.Http;

namespace MeshOs.Tests.Unit.Gateway.Auth;

public sealed class OperatorScopeTests
{
    private static Endpoint Endpoint(params object[] metadata) => new(_ => Task.CompletedTask, new EndpointMetadataCollection(metadata), "test");

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public void A_rest_read_needs_read_only_whatever_its_endpoint_declares(string method)
    {
        Assert.Equal(OperatorScope.ReadOnly, OperatorScopeGate.Needed(Endpoint(new OperatorScopeAttribute(OperatorScope.TenantAdmin)), method));
        Assert.Equal(OperatorScope.ReadOnly, OperatorScopeGate.Needed(Endpoint(), method));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public void A_change_needs_what_its_endpoint_declares_the_most_specific_winning_and_full_when_it_declares_nothing(string method)
    {
        Assert.Equal(OperatorScope.Full, OperatorScopeGate.Needed(Endpoint(), method));
        Assert.Equal(OperatorScope.IncidentResponder, OperatorScopeGate.Needed(Endpoint(new OperatorScopeAttribute(OperatorScope.IncidentResponder)), method));
        // Group metadata comes first, the route's last: the route's declaration wins.
        Assert.Equal(OperatorScope.ReadOnly, OperatorScopeGate.Needed(
            Endpoint(new OperatorScopeAttribute(OperatorScope.IncidentResponder), new OperatorScopeAttribute(OperatorScope.ReadOnly)), method));
    }

    [Fact]
    public void An_issued_operator_key_parses_back_to_its_id_and_the_hash_of_its_secret_and_tenant_keys_never_parse_as_one()
    {
        var (key, keyId, hash) = OperatorKeyFormat.Create();
        Assert.Matches("^mko\\.[0-9a-f]{12}\\.[A-Za-z0-9_-]{43}$", key);
        Assert.True(OperatorKeyFormat.TryParse(key, out var parsedId, out var secret));
        Assert.Equal(keyId, parsedId);
        Assert.Equal(hash, ApiKeyFormat.Hash(secret));

        var (tenantKey, _, _) = ApiKeyFormat.Create("acme");
        string?[] notKeys = [tenantKey, null, "", "mko", "mko..", $"mko.{keyId}", $"mko.{keyId.ToUpperInvariant()}.{secret}", $"mko.{keyId}x.{secret}",
            $"mk.{keyId}.{secret}", $"mko.{keyId}.short", $"mko.{keyId}.{secret}.extra", "mko." + new string('a', 200)];
        Assert.All(notKeys, k => Assert.False(OperatorKeyFormat.TryParse(k, out _, out _), k));
    }
}
