using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace MeshOs.Tests.EndToEnd;

/// <summary>
/// The gRPC conventions tools and orchestrators rely on: server reflection (grpcurl lists and describes the services
/// without the .proto files) and grpc.health.v1 (Kubernetes gRPC probes), answered from the readiness checks. Both are
/// anonymous, as probes and discovery are; every MeshOs method still needs its credentials.
/// </summary>
[Collection(EmbeddedSiloCollection.Name)]
public sealed class GrpcConventionsTests(EmbeddedSiloFixture fixture)
{
    [Fact]
    public async Task Reflection_lists_every_meshos_service_and_describes_its_file()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Silo.GrpcUrl);
        var client = new ServerReflection.ServerReflectionClient(channel);
        using var call = client.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string>(StringComparer.Ordinal)
        {
            "meshos.v1.Jobs", "meshos.v1.AgentChannel", "meshos.v1.RuntimeChannel", "meshos.v1.Incidents", "meshos.v1.Fleet",
            "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
        }, services);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "meshos.v1.Jobs" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto
            .Select(bytes => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes)).ToList();
        var jobs = Assert.Single(files, f => f.Service.Any(s => s.Name == "Jobs"));
        Assert.Equal("meshos.v1", jobs.Package);
        Assert.Contains(jobs.Service.Single(s => s.Name == "Jobs").Method, m => m.Name == "Submit");
        await call.RequestStream.CompleteAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("meshos.v1.Jobs")]
    [InlineData("meshos.v1.AgentChannel")]
    public async Task Health_answers_serving_for_the_server_and_its_services(string service)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Silo.GrpcUrl);
        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service });

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Health_of_an_unknown_service_is_not_found()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Silo.GrpcUrl);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Health_watch_streams_the_current_status()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Silo.GrpcUrl);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = new Health.HealthClient(channel).Watch(new HealthCheckRequest { Service = "meshos.v1.Jobs" }, cancellationToken: cancel.Token);

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }
}
