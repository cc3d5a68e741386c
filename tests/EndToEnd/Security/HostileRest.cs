using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>The credential a hostile request presents.</summary>
public enum Caller
{
    Operator,
    Tenant,

    /// <summary>A second tenant's valid key.</summary>
    OtherTenant,
    Enrollment,
    None,
    GarbageKey,

    /// <summary>A key in the right format for the real tenant and key id, with a wrong secret.</summary>
    ForgedKey,
    BadEnrollment,
    BasicAuth,
    HugeKey,
}

/// <summary>One hostile REST request and what the contract allows as its answer.</summary>
/// <param name="Expected">Statuses the answer must have; null: any 4xx.</param>
/// <param name="MayBeAccepted">A read whose odd input may legitimately be accepted (a free-text filter).</param>
public sealed record RestCase(
    string Family,
    string Detail,
    ApiOperation Operation,
    Caller Caller,
    string Method,
    string Path,
    byte[]? Body,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    IReadOnlyList<int>? Expected,
    bool MayBeAccepted,
    bool Huge)
{
    public override string ToString() =>
        $"{Method} {Describe.Clip(Path, 120)} as {Caller} [{Family}: {Describe.Clip(Detail, 100)}]"
        + (Body is null ? string.Empty : $" body({Body.Length:N0} B, {ContentType ?? "no content type"}) {Describe.Clip(Body, 120)}")
        + (Headers.Count == 0 ? string.Empty : " " + string.Join(" ", Headers.Select(h => $"{h.Key}: {Describe.Clip(h.Value, 40)}")));
}

/// <summary>What came back.</summary>
public sealed record RestAnswer(int Status, string? ContentType, string Body, bool ConnectionClose, long? ContentLength, string? RetryAfter)
{
    /// <summary>
    /// Kestrel refuses some requests (a request line or headers it cannot accept: a NUL in the path, a URL or header
    /// over its limits) before any MeshOs code runs; it answers them with an empty body and closes the connection.
    /// </summary>
    public bool RefusedByHttpServer => Status is 400 or 413 or 414 or 431 && ContentLength == 0 && ConnectionClose;

    public override string ToString() => $"{Status} ({ContentType ?? "no content type"}) {Describe.Clip(Body, 200)}";
}

/// <summary>
/// Generates hostile REST requests over every operation of the OpenAPI surface (FsCheck generators, so a seed replays
/// a run), sends them, and judges each answer against the contract: never 5xx, never accepted, always a 4xx with
/// problem details (application/problem+json with status and title).
/// </summary>
public sealed class HostileRest
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
    private static readonly string[] WrongContentTypes =
        ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "image/png"];

    /// <summary>
    /// JSON labelled so that it cannot be read as it is: another charset (JSON between systems is UTF-8) or a content
    /// coding (bodies are never decompressed). Each must be 415, the body's validity aside.
    /// </summary>
    private static readonly (string ContentType, string? Encoding)[] UnreadableLabels =
    [
        ("application/json; charset=utf-16", null), ("application/json; charset=x-unknown", null), ("application/json; charset=iso-8859-1", null),
        ("application/json; charset=\"\"", null), ("application/json", "gzip"), ("application/json", "br"), ("application/json", "deflate"),
        ("application/json", "x-unknown"), ("application/json", "gzip, identity"),
    ];

    /// <summary>
    /// Accept headers a client may send with any request: an error must keep its true status under every one of them,
    /// with problem details where JSON is accepted (see <see cref="AcceptsJson"/>).
    /// </summary>
    private static readonly string[] Accepts =
    [
        "text/event-stream", "text/plain", "application/xml", "image/png", "text/html, */*;q=0", "application/json;q=0", "garbage",
        "*/*", "application/json", "application/problem+json", "text/plain, application/json;q=0.1", "application/*",
    ];

    private static readonly (string Value, bool Raw, bool DotSegment)[] OddPathValues =
    [
        (" ", false, false), ("%00", true, false), ("%ZZ", true, false), ("%2F", true, false), ("a/b", false, false),
        ("..", true, true), ("%2e%2e", true, true), (".", true, true), (RestCatalog.Repeat(3_000), false, false),
        (RestCatalog.Repeat(9_000), false, false), ("\u202Eevil", false, false), ("🙂", false, false), ("' OR '1'='1", false, false),
        ("<script>alert(1)</script>", false, false), ("\r\n", false, false), ("{jobId}", false, false), ("null", false, false),
        ("-1", false, false), ("99999999999999999999", false, false), ("00000000-0000-0000-0000-000000000000", false, false),
        ("c0ffee00-0000-4000-8000-000000000001", false, false),
    ];

    private readonly FuzzWorld _world;
    private readonly OpenApiSurface _surface;
    private readonly IReadOnlyDictionary<string, RestEndpoint> _catalog;

    public HostileRest(FuzzWorld world, OpenApiSurface surface)
    {
        _world = world;
        _surface = surface;
        _catalog = RestCatalog.For(world);
        var unknown = surface.Operations.Where(o => !_catalog.ContainsKey(o.OperationId)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException("Operations missing from RestCatalog (say who may call them and what they refuse): "
                + string.Join(", ", unknown));
        }

        foreach (var op in surface.Operations)
        {
            foreach (var parameter in op.QueryParameters)
            {
                RestCatalog.QueryAttacks(op.OperationId, parameter); // throws for a parameter nobody classified
            }
        }
    }

    /// <summary>
    /// The generator of hostile cases: an operation, then one kind of hostility that applies to it; a third of the cases
    /// also carry an Accept header.
    /// </summary>
    public Gen<RestCase> Cases() =>
        from op in Gen.Elements(_surface.Operations.ToArray())
        from hostile in Gen.Frequency(FamiliesOf(op).ToArray())
        from accept in Gen.Frequency((2, Gen.Constant<string?>(null)), (1, Gen.Elements(Accepts).Select(a => (string?)a)))
        select accept is null ? hostile : hostile with { Headers = [.. hostile.Headers, new("Accept", accept)] };

    private IEnumerable<(int, Gen<RestCase>)> FamiliesOf(ApiOperation op)
    {
        var endpoint = _catalog[op.OperationId];
        var fields = op.BodySchema is null ? [] : _surface.FieldsOf(op.BodySchema);
        if (endpoint.Template is not null)
        {
            if (endpoint.Invalid.Count > 0)
            {
                yield return (10, Gen.Elements(endpoint.Invalid.ToArray()).Select(a => Body(op, "invalid value", a.ToString(), Apply(endpoint.Template("v"), a))));
            }

            if (endpoint.InvalidHeaders is { Count: > 0 } headers)
            {
                yield return (2, Gen.Elements(headers.ToArray()).Select(h =>
                    Build(op, "invalid header", $"{h.Key}: {h.Value}", Correct(op), Bytes(endpoint.Template("h")), headers: [h])));
            }

            yield return (6, Syntax(op, endpoint));
            if (TypedFields(fields).Any())
            {
                yield return (4, WrongType(op, endpoint, fields));
            }

            if (fields.Any(f => f.Kind is FieldKind.WholeNumber or FieldKind.Fraction))
            {
                yield return (3, Overflow(op, endpoint, fields));
            }

            if (fields.Any(f => f.Kind == FieldKind.Choice))
            {
                yield return (2, UnknownEnum(op, endpoint, fields));
            }

            if (DuplicableAttacks(endpoint).Length > 0)
            {
                yield return (2, DuplicateKey(op, endpoint));
            }

            yield return (1, Huge(op, endpoint, fields));
            yield return (2, Gen.Elements(UnreadableLabels).Select(label => Build(op, "unreadable label",
                $"{label.ContentType}{(label.Encoding is null ? string.Empty : $", Content-Encoding: {label.Encoding}")}", Correct(op),
                Bytes(endpoint.Template("l")), label.ContentType, expected: [415],
                headers: label.Encoding is null ? null : [new("Content-Encoding", label.Encoding)])));
            yield return (3, Gen.Elements(WrongContentTypes.Append(null).ToArray()).Select(type =>
                Build(op, "wrong content type", type ?? "none", Correct(op), Bytes(endpoint.Template("c")), type, expected: [400, 415])));
        }

        if (op.PathParameters.Count > 0)
        {
            yield return (6, OddPath(op, endpoint));
        }

        var queries = op.QueryParameters.SelectMany(p => RestCatalog.QueryAttacks(op.OperationId, p) is var (values, free)
            ? values.Select(v => (Parameter: p, Value: v, Free: free)) : []).ToArray();
        if (queries.Length > 0)
        {
            yield return (6, Gen.Elements(queries).Select(q => Build(op, "query", $"{q.Parameter}={q.Value}", Correct(op),
                endpoint.Template is null ? null : Bytes(endpoint.Template("q")),
                query: $"?{q.Parameter}={Uri.EscapeDataString(q.Value)}", expected: q.Free ? null : [400], mayBeAccepted: q.Free)));
        }

        var callers = HostileCallers(op, endpoint).ToArray();
        yield return (5, Gen.Elements(callers).Select(c => Build(op, "credentials", c.Caller.ToString(), c.Caller,
            endpoint.Template is null ? null : Bytes(endpoint.Template("a")), expected: [c.Status])));

        var others = Methods.Where(m => !_surface.MethodsOf(op.Template).Contains(m)).ToArray();
        if (others.Length > 0)
        {
            yield return (2, Gen.Elements(others).Select(m => Build(op, "method", m, Correct(op),
                endpoint.Template is null ? null : Bytes(endpoint.Template("m")), method: m)));
        }
    }

    private RestCase Body(ApiOperation op, string family, string detail, JsonNode body) => Build(op, family, detail, Correct(op), Bytes(body));

    private Gen<RestCase> Syntax(ApiOperation op, RestEndpoint endpoint)
    {
        var template = Bytes(endpoint.Template!("s"));
        var optional = !op.BodyRequired;
        var truncated = Gen.Choose(1, template.Length - 1).Select(cut => Build(op, "truncated JSON", $"first {cut} bytes", Correct(op), template[..cut], expected: [400]));
        var trailing = Gen.Elements("x", "}", ",", "{}", "]", "\0").Select(tail => Build(op, "trailing garbage", tail, Correct(op), [.. template, .. Encoding.UTF8.GetBytes(tail)], expected: [400]));
        var leaves = StringLeaves(endpoint.Template!("u"), string.Empty).Append(null).ToArray();
        var badUtf8 = from bad in Gen.Elements<byte[]>([0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80])
                      from leaf in Gen.Elements(leaves)
                      select Build(op, "bad UTF-8", $"{Convert.ToHexString(bad)} in {leaf ?? "front of the body"}", Correct(op),
                          WithBadUtf8(endpoint.Template!("u"), leaf, bad), expected: [400]);
        var deep = from depth in Gen.Choose(1_000, 5_000)
                   from arrays in Gen.Elements(true, false)
                   from whole in Gen.Elements(true, false)
                   select Build(op, "deep JSON", $"{depth} levels of {(arrays ? "arrays" : "objects")}{(whole ? " as the body" : " in a field")}", Correct(op),
                       // Up to ~30 KB: past the 16 KB limit of the small-body endpoints (operator keys, compliance), 413 is as right.
                       Deep(endpoint.Template!("d"), depth, arrays, whole), expected: [400, 413]);
        string[] shapes = optional ? ["[]", "[1,2]", "42", "\"text\"", "true"] : ["[]", "[1,2]", "42", "\"text\"", "true", "null", ""];
        var notObject = Gen.Elements(shapes).Select(s => Build(op, "not an object", s.Length == 0 ? "empty body" : s, Correct(op), Encoding.UTF8.GetBytes(s), expected: [400]));
        return Gen.OneOf(truncated, trailing, badUtf8, deep, notObject);
    }

    private Gen<RestCase> WrongType(ApiOperation op, RestEndpoint endpoint, IReadOnlyList<BodyField> fields) =>
        from field in Gen.Elements(TypedFields(fields).ToArray())
        from value in Gen.Elements(WrongValues(field))
        select Build(op, "wrong type", $"{field.Name} ({field.Kind}) = {value?.ToJsonString() ?? "null"}", Correct(op),
            Bytes(Apply(endpoint.Template!("t"), new FieldAttack(field.Name, value))), expected: [400]);

    private Gen<RestCase> Overflow(ApiOperation op, RestEndpoint endpoint, IReadOnlyList<BodyField> fields) =>
        from field in Gen.Elements(fields.Where(f => f.Kind is FieldKind.WholeNumber or FieldKind.Fraction).ToArray())
        from number in Gen.Elements(OverflowValues(field))
        select Build(op, "number out of range", $"{field.Name} ({field.Format}) = {number}", Correct(op),
            RawValue(endpoint.Template!("n"), field.Name, number), expected: [400]);

    private Gen<RestCase> UnknownEnum(ApiOperation op, RestEndpoint endpoint, IReadOnlyList<BodyField> fields) =>
        from field in Gen.Elements(fields.Where(f => f.Kind == FieldKind.Choice).ToArray())
        from value in Gen.Elements<JsonNode?>("Overlord", "", "P 1", 99, -1, "99", "p9")
        select Build(op, "unknown enum value", $"{field.Name} = {value!.ToJsonString()}", Correct(op),
            Bytes(Apply(endpoint.Template!("e"), new FieldAttack(field.Name, value))), expected: [400]);

    /// <summary>
    /// The same key twice: first with a value the endpoint must refuse, then with a valid one. A parser that keeps the
    /// last value lets the request through; JSON with duplicate names is ambiguous (RFC 8259 §4) and must be refused.
    /// </summary>
    /// <summary>Attacks on top-level fields the valid body carries too, so that the name really appears twice.</summary>
    private static FieldAttack[] DuplicableAttacks(RestEndpoint endpoint) =>
        endpoint.Template is null ? [] : [.. endpoint.Invalid.Where(a => !a.Remove && !a.Field.Contains('.', StringComparison.Ordinal)
            && endpoint.Template("k").AsObject().ContainsKey(a.Field))];

    private Gen<RestCase> DuplicateKey(ApiOperation op, RestEndpoint endpoint) =>
        Gen.Elements(DuplicableAttacks(endpoint)).Select(attack =>
        {
            var text = endpoint.Template!("k").ToJsonString();
            var body = $"{{{JsonSerializer.Serialize(attack.Field)}:{attack.Value?.ToJsonString() ?? "null"},{text[1..]}";
            return Build(op, "duplicate key", $"{attack} then the valid value", Correct(op), Encoding.UTF8.GetBytes(body), expected: body.Length > 60_000 ? [400, 413] : [400]);
        });

    private Gen<RestCase> Huge(ApiOperation op, RestEndpoint endpoint, IReadOnlyList<BodyField> fields)
    {
        var template = endpoint.Template!("z");
        if (op.OperationId is "SubmitJob" or "SubmitJobBatch")
        {
            var huge = new string('x', 8 * 1024 * 1024 + 1);
            var field = op.OperationId == "SubmitJob" ? "payload" : "jobs.0.payload";
            return Gen.Constant(Build(op, "huge body", "payload of 8 MiB + 1 (over the 8 MiB submit limit)", Correct(op),
                Bytes(Apply(template, new FieldAttack(field, huge))), expected: [413], huge: true));
        }

        var strings = fields.Where(f => f.Kind == FieldKind.Text && template.ContainsKey(f.Name)).Select(f => f.Name).ToArray();
        return strings.Length == 0
            ? Syntax(op, endpoint)
            : Gen.Elements(strings).Select(name => Build(op, "huge body", $"{name} of 9 MiB", Correct(op),
                Bytes(Apply(endpoint.Template!("z"), new FieldAttack(name, new string('x', 9 * 1024 * 1024)))), huge: true));
    }

    private Gen<RestCase> OddPath(ApiOperation op, RestEndpoint endpoint)
    {
        var tenantCaller = Correct(op) == Caller.Tenant;
        var choices = new List<(string Parameter, string Value, bool Raw, bool Dot)>();
        foreach (var parameter in op.PathParameters)
        {
            choices.AddRange(OddPathValues.Select(v => (parameter, v.Value, v.Raw, v.DotSegment)));
            if (tenantCaller && OtherObject(parameter) is { } other)
            {
                choices.Add((parameter, other, false, false));
            }
        }

        return Gen.Elements(choices.ToArray()).Select(c => Build(op, "odd path segment", $"{{{c.Parameter}}} = {c.Value}", Correct(op),
            endpoint.Template is null ? null : Bytes(endpoint.Template("p")),
            path: Path(op, c.Parameter, c.Raw ? c.Value : Uri.EscapeDataString(c.Value)),
            mayBeAccepted: (c.Dot && op.Method == "GET") || IdempotentRelease(op, c.Parameter, c.Value) || UpsertById(op, c.Value)));
    }

    /// <summary>
    /// A PUT of a policy, an advisory or a budget names the object it creates: an odd path value that is a well-formed id
    /// ("null", "-1", a GUID) is a new policy, advisory or (alerts-only) budget, not an attack (it is created in a pool
    /// nothing runs in); and a DELETE of such an id removes what an earlier such PUT of the run created.
    /// </summary>
    private static bool UpsertById(ApiOperation op, string value) =>
        op.OperationId is "PutCompliancePolicy" or "PutAdvisory" or "DeleteCompliancePolicy" or "DeleteAdvisory" or "PutBudget" or "DeleteBudget"
        && value.Length is >= 1 and <= 64
        && value.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.') && value is not ("." or "..");

    /// <summary>
    /// An agent releasing a lease it does not hold on a job its owner could serve is a no-op answered 204: the release
    /// is idempotent, so an agent may repeat it after a lost answer (a job it could not serve, or none, is a 404).
    /// Nothing is written, which the run checks.
    /// </summary>
    private static bool IdempotentRelease(ApiOperation op, string parameter, string value) =>
        op.OperationId == "AgentReleaseJob" && parameter == "jobId" && Guid.TryParse(value, out _);

    private IEnumerable<(Caller Caller, int Status)> HostileCallers(ApiOperation op, RestEndpoint endpoint)
    {
        yield return (Caller.None, 401);
        yield return (Caller.GarbageKey, 401);
        yield return (Caller.ForgedKey, 401);
        yield return (Caller.BadEnrollment, 401);
        yield return (Caller.BasicAuth, 401);
        yield return (Caller.HugeKey, 401);
        switch (endpoint.Role)
        {
            case Role.Operator:
                yield return (Caller.Tenant, 403);
                yield return (Caller.OtherTenant, 403);
                yield return (Caller.Enrollment, 403);
                break;
            case Role.Tenant:
                yield return (Caller.Operator, 403);
                yield return (Caller.Enrollment, 403);
                if (op.PathParameters.Contains("jobId"))
                {
                    yield return (Caller.OtherTenant, 404);
                }

                break;
            case Role.OperatorOrTenant:
                yield return (Caller.Enrollment, 403);
                if (op.PathParameters.Contains("agentId") || op.PathParameters.Contains("jobId"))
                {
                    yield return (Caller.OtherTenant, 404);
                }

                break;
            case Role.Agent:
                yield return (Caller.Operator, 403);
                if (op.PathParameters.Contains("agentId"))
                {
                    yield return (Caller.OtherTenant, 404);
                    yield return (Caller.Enrollment, 404);
                }

                break;
        }
    }

    private Caller Correct(ApiOperation op) => _catalog[op.OperationId].Role == Role.Operator ? Caller.Operator : Caller.Tenant;

    private RestCase Build(ApiOperation op, string family, string detail, Caller caller, byte[]? body, string? contentType = "application/json",
        IReadOnlyList<int>? expected = null, bool mayBeAccepted = false, bool huge = false, string? method = null, string? path = null,
        string query = "", IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        new(family, detail, op, caller, method ?? op.Method, (path ?? Path(op)) + query, body, body is null ? null : contentType,
            headers ?? [], expected, mayBeAccepted, huge);

    /// <summary>The operation's URL with every path parameter naming a real object of the world, but one replaced.</summary>
    private string Path(ApiOperation op, string? replaced = null, string? with = null)
    {
        var path = op.Template;
        foreach (var parameter in op.PathParameters)
        {
            var value = parameter == replaced ? with! : Uri.EscapeDataString(RealObject(parameter));
            path = path.Replace("{" + parameter + "}", value, StringComparison.Ordinal);
        }

        return path;
    }

    private string RealObject(string parameter) =>
        _world.RealObject(parameter) ?? throw new InvalidOperationException($"No object of the fuzz world for path parameter '{parameter}'.");

    private string? OtherObject(string parameter) => parameter switch
    {
        "jobId" => _world.OtherJobId,
        "agentId" => _world.OtherAgentId,
        _ => null,
    };

    /// <summary>Sends the case; an exception (no answer at all) is returned as the answer's body with status 0.</summary>
    public async Task<RestAnswer> SendAsync(HttpClient http, RestCase c)
    {
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), new Uri(http.BaseAddress!, c.Path));
        if (c.Body is not null)
        {
            request.Content = new ByteArrayContent(c.Body);
            if (c.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
            }
        }

        foreach (var (name, value) in _world.Credentials(c.Caller).Concat(c.Headers))
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value); // a content header (Content-Encoding)
            }
        }

        if (c.Huge)
        {
            // The server may refuse on the declared length; without 100-continue its early answer races the upload.
            request.Headers.ExpectContinue = true;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var type = response.Content.Headers.ContentType?.MediaType;
            var body = type == "text/event-stream" ? "(an event stream)" : await response.Content.ReadAsStringAsync(timeout.Token);
            return new RestAnswer((int)response.StatusCode, type, body, response.Headers.ConnectionClose == true,
                response.Content.Headers.ContentLength, response.Headers.RetryAfter?.ToString());
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return new RestAnswer(0, null, $"no answer: {ex.GetType().Name}: {ex.Message}", false, null, null);
        }
    }

    /// <summary>The contract every answer to a hostile request must keep; returns the broken rule, or null.</summary>
    public static string? Judge(RestCase c, RestAnswer answer)
    {
        if (answer.Status == 0)
        {
            return "no answer";
        }

        if (answer.Status >= 500)
        {
            return $"server error {answer.Status}";
        }

        if (answer.Status is >= 200 and < 300)
        {
            if (c.MayBeAccepted)
            {
                return null;
            }

            if (c.Operation.OperationId == "SubmitJobBatch" && answer.Status == 200 && EveryEntryRefused(answer.Body))
            {
                return null;
            }

            return $"hostile request accepted ({answer.Status})";
        }

        if (answer.Status is < 400 or >= 500)
        {
            return $"unexpected status {answer.Status}";
        }

        if (!answer.RefusedByHttpServer && AcceptsJson(c) && ProblemDefect(answer) is { } defect)
        {
            return defect;
        }

        // The families that leave the operation (another method, a path that routes elsewhere) and Kestrel's own
        // refusals are not the operation's answers; every other status must be one the document declares.
        if (!answer.RefusedByHttpServer && c.Family is not ("method" or "odd path segment") && !c.Operation.ProblemStatuses.Contains(answer.Status))
        {
            return $"{answer.Status} is not declared for {c.Operation.OperationId} in the OpenAPI document";
        }

        return c.Expected is { } expected && !expected.Contains(answer.Status)
            ? $"{c.Family}: expected {string.Join(" or ", expected)}, got {answer.Status}"
            : null;
    }

    /// <summary>
    /// Whether the case's Accept header plainly admits problem details: none, or exactly */*, application/json or
    /// application/problem+json. Under any other the answer's status is judged, its body not.
    /// </summary>
    private static bool AcceptsJson(RestCase c) =>
        c.Headers.LastOrDefault(h => h.Key == "Accept").Value is not { } accept
        || accept is "*/*" or "application/json" or "application/problem+json";

    private static string? ProblemDefect(RestAnswer answer)
    {
        if (answer.ContentType != "application/problem+json")
        {
            return $"{answer.Status} without problem details (content type {answer.ContentType ?? "none"})";
        }

        try
        {
            var problem = JsonNode.Parse(answer.Body)!.AsObject();
            if (problem["status"]?.GetValue<int>() != answer.Status)
            {
                return $"{answer.Status}: problem status is {problem["status"]?.ToJsonString() ?? "missing"}";
            }

            return problem["title"]?.GetValue<string>() is { Length: > 0 } ? null : $"{answer.Status}: problem without a title";
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return $"{answer.Status}: problem details that are not a JSON object ({ex.Message})";
        }
    }

    /// <summary>A batch answered 200 refused every entry on its own (a 4xx problem each, no job).</summary>
    private static bool EveryEntryRefused(string body)
    {
        var results = JsonNode.Parse(body)?["results"]?.AsArray();
        return results is { Count: > 0 } && results.All(r =>
            r?["job"] is null && r?["error"]?["status"]?.GetValue<int>() is >= 400 and < 500 && r["error"]!["title"] is not null);
    }

    private static IEnumerable<BodyField> TypedFields(IReadOnlyList<BodyField> fields) => fields.Where(f => f.Kind != FieldKind.AnyJson);

    private static JsonNode?[] WrongValues(BodyField field)
    {
        var values = field.Kind switch
        {
            FieldKind.Text => new JsonNode?[] { 42, true, new JsonObject(), new JsonArray() },
            FieldKind.WholeNumber or FieldKind.Fraction => ["abc", true, new JsonObject(), new JsonArray(), "", "NaN", "Infinity"],
            FieldKind.Flag => ["yes", 1, new JsonObject(), new JsonArray()],
            FieldKind.List => ["x", 5, new JsonObject()],
            FieldKind.Record or FieldKind.Dictionary => ["x", 5, new JsonArray(), true],
            FieldKind.Choice => [new JsonObject(), new JsonArray(), true],
            _ => [],
        };
        return field.Nullable || field.Kind == FieldKind.AnyJson ? values : [.. values, null];
    }

    private static string[] OverflowValues(BodyField field) => field.Format switch
    {
        "int32" => ["2147483648", "-2147483649", "1e400", "1.5", "1e10"],
        "int64" => ["9223372036854775808", "-9223372036854775809", "1e400", "1.5"],
        _ => ["1e400", "-1e400", "1e999", "79228162514264337593543950336e10"],
    };

    /// <summary>Sets (or removes) a dotted field of a copy of <paramref name="template"/>.</summary>
    public static JsonNode Apply(JsonNode template, FieldAttack attack)
    {
        var copy = template.DeepClone();
        var parts = attack.Field.Split('.');
        var parent = copy;
        foreach (var part in parts[..^1])
        {
            if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                parent = parent![index];
            }
            else
            {
                parent = parent![part] ??= new JsonObject();
            }
        }

        var last = parts[^1];
        if (int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var at))
        {
            parent!.AsArray()[at] = attack.Value?.DeepClone();
        }
        else if (attack.Remove)
        {
            parent!.AsObject().Remove(last);
        }
        else
        {
            parent!.AsObject()[last] = attack.Value?.DeepClone();
        }

        return copy;
    }

    private static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    private const string Placeholder = "\"@@FUZZ-PLACEHOLDER@@\"";

    /// <summary>The template with a field's value replaced by raw JSON text (numbers no JSON library would write).</summary>
    private static byte[] RawValue(JsonObject template, string field, string raw) =>
        Encoding.UTF8.GetBytes(Apply(template, new FieldAttack(field, "@@FUZZ-PLACEHOLDER@@")).ToJsonString().Replace(Placeholder, raw, StringComparison.Ordinal));

    /// <summary>Invalid UTF-8 bytes inside a string value of the body (or, without one, before the body).</summary>
    private static byte[] WithBadUtf8(JsonObject template, string? field, byte[] bad)
    {
        if (field is null)
        {
            return [.. bad, .. Bytes(template)];
        }

        var text = Apply(template, new FieldAttack(field, "@@FUZZ-PLACEHOLDER@@")).ToJsonString();
        var at = text.IndexOf(Placeholder, StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(text[..(at + 1)]), (byte)'a', .. bad, (byte)'b', .. Encoding.UTF8.GetBytes(text[(at + Placeholder.Length - 1)..])];
    }

    private static IEnumerable<string> StringLeaves(JsonNode? node, string prefix) => node switch
    {
        JsonObject o => o.SelectMany(p => StringLeaves(p.Value, prefix.Length == 0 ? p.Key : $"{prefix}.{p.Key}")),
        JsonArray a => a.SelectMany((item, i) => StringLeaves(item, $"{prefix}.{i}")),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [prefix],
        _ => [],
    };

    private static byte[] Deep(JsonObject template, int depth, bool arrays, bool whole)
    {
        var open = arrays ? "[" : "{\"a\":";
        var close = arrays ? "]" : "}";
        var nested = new StringBuilder(depth * (open.Length + 1) + 8);
        for (var i = 0; i < depth; i++)
        {
            nested.Append(open);
        }

        nested.Append('1');
        for (var i = 0; i < depth; i++)
        {
            nested.Append(close);
        }

        if (whole)
        {
            return Encoding.UTF8.GetBytes(nested.ToString());
        }

        var field = template.Select(p => p.Key).FirstOrDefault() ?? "deep";
        return Encoding.UTF8.GetBytes(Apply(template, new FieldAttack(field, "@@FUZZ-PLACEHOLDER@@")).ToJsonString()
            .Replace(Placeholder, nested.ToString(), StringComparison.Ordinal));
    }
}
