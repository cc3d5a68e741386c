using System.Net;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd;

/// <summary>Traces leave the process over OTLP exactly when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
public sealed class TraceExportTests
{
    [Fact]
    public async Task Traces_are_exported_over_otlp_when_the_endpoint_is_set()
    {
        var port = FreePort.Get();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = new TaskCompletionSource<(string Path, string? ContentType, long Length)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                var context = await collector.GetContextAsync();
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                context.Response.StatusCode = 200;
                context.Response.Close();
                if (context.Request.Url!.AbsolutePath == "/v1/traces" && body.Length > 0)
                {
                    received.TrySetResult((context.Request.Url.AbsolutePath, context.Request.ContentType, body.Length));
                }
            }
        });

        await using var silo = MeshProcess.StartSilo(environment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
        });
        await silo.WaitReadyAsync();
        using var api = new MeshApi(silo);
        await api.CreateTenantAsync();

        var export = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("/v1/traces", export.Path);
        Assert.Equal("application/x-protobuf", export.ContentType);
        Assert.True(export.Length > 0);
    }
}
