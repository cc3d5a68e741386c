using Google.Protobuf;
using MeshOs.Grpc.V1;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

[Collection(EmbeddedKernelCollection.Name)]
public sealed class ScratchProbe(EmbeddedKernelFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Probe()
    {
        var t = await fixture.Mesh.CreateTenantAsync();
        using var wire = new GrpcWire(fixture.Mesh.Silo.GrpcUrl);
        var key = GrpcCredentials.ApiKey(t.Key);
        var valid = new SubmitJobRequest { Type = "t", Capability = "c", PayloadJson = "{}" }.ToByteArray();
        var cases = new (string, string, byte[], string?)[]
        {
            ("valid", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid), "application/grpc"),
            ("garbage", "/meshos.v1.Jobs/Submit", GrpcWire.Frame([0xFF, 0xFF, 0xFF, 0x01, 0x02]), "application/grpc"),
            ("bad utf8", "/meshos.v1.Jobs/Submit", GrpcWire.Frame([0x0A, 0x02, 0xFF, 0xFE, 0x12, 0x01, 0x63, 0x22, 0x02, 0x7B, 0x7D]), "application/grpc"),
            ("trunc", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid.AsSpan(0, valid.Length - 2)), "application/grpc"),
            ("compressed", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid, compressed: true), "application/grpc"),
            ("length lies", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid, declaredLength: 1000), "application/grpc"),
            ("length huge", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid, declaredLength: 0x7FFFFFFF), "application/grpc"),
            ("two msgs", "/meshos.v1.Jobs/Submit", [.. GrpcWire.Frame(valid), .. GrpcWire.Frame(valid)], "application/grpc"),
            ("empty", "/meshos.v1.Jobs/Submit", [], "application/grpc"),
            ("json ct", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid), "application/json"),
            ("no ct", "/meshos.v1.Jobs/Submit", GrpcWire.Frame(valid), null),
            ("unknown method", "/meshos.v1.Jobs/Nope", GrpcWire.Frame(valid), "application/grpc"),
            ("stream garbage", "/meshos.v1.AgentChannel/Connect", GrpcWire.Frame([0xFF, 0x00]), "application/grpc"),
            ("stream empty msg", "/meshos.v1.AgentChannel/Connect", GrpcWire.Frame([]), "application/grpc"),
            ("incidents garbage", "/meshos.v1.Incidents/Open", GrpcWire.Frame([0x08, 0xFF]), "application/grpc"),
        };
        foreach (var (name, method, body, ct) in cases)
        {
            var answer = await wire.CallAsync(method, body, key, ct);
            output.WriteLine($"{name}: {answer}");
        }

        output.WriteLine(fixture.Mesh.Silo.Tail(60));
    }
}
