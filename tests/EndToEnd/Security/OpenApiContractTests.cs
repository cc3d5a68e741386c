using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// The OpenAPI document describes exactly what the server does: every operation says which credentials it takes and
/// which problems it can answer; a request field is required exactly when the server refuses the request without it
/// (naming the field by its wire name), nullable exactly when the server takes null; numbers are numbers; the Orleans
/// dashboard's routes are not part of the API. The answers the fuzzer meets are checked against the declared problems
/// there (<see cref="HostileRest.Judge"/>).
/// </summary>
[Collection(OpenApiContractCollection.Name)]
public sealed class OpenApiContractTests(EmbeddedKernelFixture fixture, ITestOutputHelper output)
{
    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task The_document_declares_the_credentials_and_problems_of_every_operation_and_leaves_the_dashboard_out()
    {
        var document = (await MeshApi.EnsureAsync(await Mesh.Api.Anonymous.GetAsync("/openapi/v1.json"), HttpStatusCode.OK))!;
        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal(("apiKey", "header", "x-api-key"), (schemes["apiKey"]!["type"]!.GetValue<string>(), schemes["apiKey"]!["in"]!.GetValue<string>(), schemes["apiKey"]!["name"]!.GetValue<string>()));
        Assert.Equal(("http", "bearer"), (schemes["bearer"]!["type"]!.GetValue<string>(), schemes["bearer"]!["scheme"]!.GetValue<string>()));
        Assert.Equal("x-enrollment-token", schemes["enrollmentToken"]!["name"]!.GetValue<string>());

        var paths = document["paths"]!.AsObject();
        Assert.DoesNotContain(paths, p => p.Key.StartsWith("/dashboard", StringComparison.Ordinal));
        Assert.Contains(paths, p => p.Key == "/status");

        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var problems = new List<string>();
        foreach (var op in surface.Operations)
        {
            var operation = paths[op.Template]![op.Method.ToLowerInvariant()]!;
            var security = operation["security"]?.AsArray().Select(r => r!.AsObject().Select(p => p.Key).Single()).ToHashSet() ?? [];
            var expectedSecurity = op.Tag == "Agent protocol" ? new[] { "apiKey", "bearer", "enrollmentToken" } : ["apiKey", "bearer"];
            if (!security.SetEquals(expectedSecurity))
            {
                problems.Add($"{op}: security [{string.Join(", ", security)}], expected [{string.Join(", ", expectedSecurity)}]");
            }

            int[] always = op.BodySchema is null ? [401, 403, 429, 503] : [400, 401, 403, 413, 415, 429, 503];
            foreach (var status in always.Where(s => !op.ProblemStatuses.Contains(s)))
            {
                problems.Add($"{op}: {status} not declared with problem details");
            }

            if (op.PathParameters.Count > 0 && !op.ProblemStatuses.Contains(404) && !op.ProblemStatuses.Contains(400))
            {
                problems.Add($"{op}: takes an id but declares neither 400 nor 404");
            }

            foreach (var (status, response) in operation["responses"]!.AsObject().Where(r => r.Key.StartsWith('4')))
            {
                var schema = response!["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>();
                if (schema != "#/components/schemas/ProblemDetails")
                {
                    problems.Add($"{op}: {status} without the problem schema");
                }
            }
        }

        // Numbers are numbers: no property or parameter may also be a string (what lenient number reading documented).
        foreach (var (name, schema) in surface.Schemas)
        {
            foreach (var (property, value) in schema?["properties"]?.AsObject() ?? [])
            {
                var types = value?["type"] is JsonArray many ? many.Select(t => t!.GetValue<string>()).ToList() : [];
                if (types.Contains("string") && (types.Contains("integer") || types.Contains("number")))
                {
                    problems.Add($"{name}.{property} is typed {string.Join("|", types)}");
                }
            }
        }

        Assert.True(problems.Count == 0, "The document and the server disagree:\n  " + string.Join("\n  ", problems));

        var submit = surface.Schemas["SubmitJobRequest"]!;
        Assert.Equal(["capability", "payload", "type"], surface.RequiredOf("SubmitJobRequest").Order(StringComparer.Ordinal));
        Assert.Equal("integer", submit["properties"]!["priority"]!["type"]!.AsArray().Single(t => t!.GetValue<string>() != "null")!.GetValue<string>());
        Assert.Equal("int32", submit["properties"]!["priority"]!["format"]!.GetValue<string>());
        Assert.Equal("string", submit["properties"]!["type"]!["type"]!.GetValue<string>());
        var payload = submit["properties"]!["payload"]!;
        Assert.DoesNotContain("\"type\":\"null\"", payload.ToJsonString(), StringComparison.Ordinal);
        Assert.Null(payload["type"]);
    }

    [Fact]
    public async Task A_field_is_required_exactly_when_the_server_refuses_the_request_without_it_and_nullable_exactly_when_it_takes_null()
    {
        await using var world = await FuzzWorld.CreateAsync(Mesh);
        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var catalog = RestCatalog.For(world);


        using var http = new HttpClient { BaseAddress = Mesh.Silo.HttpUrl, Timeout = TimeSpan.FromSeconds(60) };
        var problems = new List<string>();
        var withBodies = surface.Operations.Where(op => op.BodySchema is not null && catalog[op.OperationId].Template is not null).ToList();
        var checks = 0;

        // Refusals first: they change nothing, so every later call meets the objects as the world made them.
        foreach (var op in withBodies)
        {
            var template = catalog[op.OperationId].Template!;
            var required = surface.RequiredOf(op.BodySchema!);
            foreach (var field in required.Where(f => !template("r").ContainsKey(f)))
            {
                problems.Add($"{op}: the catalog's valid body lacks required field {field}");
            }

            foreach (var field in required)
            {
                foreach (var (how, body) in new[] { ("missing", Without(template($"m{checks}"), field)), ("null", WithNull(template($"n{checks}"), field)) })
                {
                    checks++;
                    var (status, detail) = await SendAsync(http, world, op, body);
                    if (status != 400 || !detail.StartsWith(field + ":", StringComparison.Ordinal))
                    {
                        problems.Add($"{op}: required {field} {how} answered {status} '{detail}' (expected 400 naming {field})");
                    }
                }
            }
        }

        foreach (var op in withBodies)
        {
            var template = catalog[op.OperationId].Template!;
            var required = surface.RequiredOf(op.BodySchema!);
            foreach (var field in surface.FieldsOf(op.BodySchema!).Where(f => !required.Contains(f.Name)))
            {
                if (template("o").ContainsKey(field.Name))
                {
                    checks++;
                    var (status, detail) = await SendAsync(http, world, op, Without(template($"o{checks}"), field.Name));
                    if (status is 400 or 422 or >= 500)
                    {
                        problems.Add($"{op}: optional {field.Name} missing answered {status} '{detail}'");
                    }
                }

                if (field.Nullable)
                {
                    checks++;
                    var (status, detail) = await SendAsync(http, world, op, WithNull(template($"u{checks}"), field.Name));
                    if (status is 400 or 422 or >= 500)
                    {
                        problems.Add($"{op}: nullable {field.Name} = null answered {status} '{detail}'");
                    }
                }
                else
                {
                    checks++;
                    var (status, detail) = await SendAsync(http, world, op, WithNull(template($"v{checks}"), field.Name));
                    if (status != 400)
                    {
                        problems.Add($"{op}: {field.Name} is not nullable in the document, but null answered {status} '{detail}'");
                    }
                }
            }
        }

        output.WriteLine($"{checks} requests over {withBodies.Count} operations with bodies.");
        Assert.True(problems.Count == 0, "The document and the server disagree:\n  " + string.Join("\n  ", problems));
    }

    private static JsonObject Without(JsonObject body, string field)
    {
        body.Remove(field);
        return body;
    }

    private static JsonObject WithNull(JsonObject body, string field)
    {
        body[field] = null;
        return body;
    }

    /// <summary>Sends <paramref name="body"/> to the operation on the world's objects with the credential it is for.</summary>
    private static async Task<(int Status, string Detail)> SendAsync(HttpClient http, FuzzWorld world, ApiOperation op, JsonObject body)
    {
        var path = op.Template;
        foreach (var parameter in op.PathParameters)
        {
            path = path.Replace("{" + parameter + "}", Uri.EscapeDataString(world.RealObject(parameter) ?? throw new InvalidOperationException(parameter)),
                StringComparison.Ordinal);
        }

        using var request = new HttpRequestMessage(new HttpMethod(op.Method), path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", RestCatalog.For(world)[op.OperationId].Role == Role.Operator ? MeshProcess.OperatorKey : world.Tenant.Key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var detail = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            ? JsonNode.Parse(text)?["detail"]?.GetValue<string>() ?? string.Empty
            : text;
        return ((int)response.StatusCode, detail);
    }
}
