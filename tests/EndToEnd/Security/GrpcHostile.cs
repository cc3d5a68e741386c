using System.IO.Compression;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>One hostile gRPC call, as the bytes that go on the wire, and what the contract allows as its answer.</summary>
/// <param name="Expected">gRPC statuses the answer may have; null: any refusal of <see cref="GrpcHostile.Refusals"/>.</param>
/// <param name="ExpectedHttp">An HTTP status the answer must have instead (a request that is not gRPC at all).</param>
public sealed record GrpcCase(
    string Family,
    string Detail,
    GrpcMethod Method,
    Caller Caller,
    byte[] Body,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Metadata,
    IReadOnlyList<StatusCode>? Expected,
    int? ExpectedHttp = null)
{
    public override string ToString() =>
        $"{Method} as {Caller} [{Family}: {Describe.Clip(Detail, 140)}] body({Body.Length:N0} B, {ContentType ?? "no content type"})"
        + (Metadata.Count == 0 ? string.Empty : " " + string.Join(" ", Metadata.Select(h => $"{h.Key}: {Describe.Clip(h.Value, 40)}")));
}

/// <summary>
/// Generates hostile gRPC calls over every RPC of <see cref="GrpcCatalog"/> (FsCheck generators, so a seed replays a
/// run): typed requests with field attacks, bytes that are not protobuf, bad UTF-8 in string fields, broken framing
/// (lying lengths, compressed flags, encodings), wrong content types and metadata, huge messages, and wrong
/// credentials. Sends them as raw HTTP/2 (<see cref="GrpcWire"/>) and judges each answer: a refusal with a status a
/// client can act on, never OK (a batch aside, when every entry carries its own refusal), never a streamed message.
/// </summary>
public sealed class GrpcHostile(FuzzWorld world)
{
    /// <summary>The family of cases whose message exceeds the server's limit by megabytes.</summary>
    public const string HugeFamily = "huge";

    /// <summary>The statuses a refusal may have: never Unknown, Internal, Unavailable or OK.</summary>
    public static readonly IReadOnlyList<StatusCode> Refusals =
    [
        StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.PermissionDenied, StatusCode.Unauthenticated,
        StatusCode.ResourceExhausted, StatusCode.FailedPrecondition, StatusCode.OutOfRange, StatusCode.AlreadyExists,
    ];

    private static readonly IReadOnlyList<StatusCode> InvalidArgument = [StatusCode.InvalidArgument];

    /// <summary>The HTTP/2 error code of a stream reset for excessive data.</summary>
    private const long EnhanceYourCalm = 0xB;

    /// <summary>The gateway's limit on one message (the 8 MiB submit limit).</summary>
    public const int MaxMessageBytes = 8 * 1024 * 1024;

    private static readonly byte[][] NotProtobuf =
    [
        [0x08, 0xFF],                                                             // a varint cut short
        [0x80],                                                                   // a tag cut short
        [0x0F],                                                                   // wire type 7
        [0x0E],                                                                   // wire type 6
        [0x0A, 0x7F, 0x01],                                                       // a length beyond the end
        [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],                                     // a length of 4 GiB
        [0x0B],                                                                   // a group that never ends
        [0x0C],                                                                   // a group end without a start
        [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // a varint of 11 bytes
        [0x00],                                                                   // field number 0
        [0x0D, 0x01, 0x02],                                                       // a fixed32 cut short
    ];

    private static readonly byte[][] BadUtf8 =
    [
        [0xC3, 0x28], [0xFF], [0xFE, 0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80],
    ];

    private static readonly string[] WrongContentTypes =
    [
        "text/plain", "application/json", "application/protobuf", "application/x-protobuf", "application/grpc-web", "application/grpc-web-text",
        "application/grpcx", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    ];

    /// <summary>Zeros just past the limit and far past it, gzip-compressed (made once: compressing 64 MiB takes a while).</summary>
    private static readonly Lazy<(int Size, byte[] Compressed)[]> GzipBombs =
        new(() => [.. new[] { MaxMessageBytes + 1, 64 * 1024 * 1024 }.Select(size => (size, Compress(new byte[size], "gzip")))]);

    private readonly IReadOnlyList<GrpcMethod> _methods = GrpcCatalog.For(world);

    /// <summary>The generator of hostile cases: an RPC, then one kind of hostility.</summary>
    public Gen<GrpcCase> Cases() => Gen.Elements(_methods.ToArray()).SelectMany(m => Gen.Frequency(FamiliesOf(m).ToArray()));

    private IEnumerable<(int, Gen<GrpcCase>)> FamiliesOf(GrpcMethod method)
    {
        // The families that dress up a refused request need a field to poison; a request without fields (a review)
        // gets the others.
        var poisonable = method.Invalid.Count > 0;
        if (poisonable)
        {
            yield return (30, FieldAttacks(method));
        }
        yield return (8, NotProtobufFamily(method));
        var strings = StringFieldPaths(method.Template()[0].Descriptor, depth: 3).ToArray();
        if (strings.Length > 0)
        {
            yield return (8, BadUtf8Family(method, strings));
        }

        if (poisonable)
        {
            yield return (12, Framing(method));
            yield return (5, ContentTypes(method));
            yield return (3, OddMetadata(method));
        }
        yield return (12, Credentials(method));
        yield return (1, Huge(method));
    }

    /// <summary>One or two attacks of the catalog on the valid request; each is refused on its own, so both are.</summary>
    private static Gen<GrpcCase> FieldAttacks(GrpcMethod method) => Poisoned(method).Select(p => Build(method, "field", p.Detail, Frames(p.Stream)));

    private static Gen<(List<IMessage> Stream, string Detail)> Poisoned(GrpcMethod method)
    {
        var combinable = method.Invalid.Where(a => !a.Alone).ToArray();
        return from first in Gen.Elements(method.Invalid.ToArray())
               from second in Gen.Elements(combinable)
               from both in Gen.Frequency((7, Gen.Constant(false)), (3, Gen.Constant(true)))
               select Apply(method, both && !first.Alone && second != first ? [first, second] : [first]);
    }

    private static (List<IMessage> Stream, string Detail) Apply(GrpcMethod method, IReadOnlyList<MessageAttack> attacks)
    {
        var stream = method.Template();
        foreach (var attack in attacks)
        {
            attack.Apply(stream);
        }

        return (stream, string.Join("; ", attacks));
    }

    /// <summary>The valid request followed (or replaced) by bytes no protobuf parser accepts.</summary>
    private static Gen<GrpcCase> NotProtobufFamily(GrpcMethod method)
    {
        var garbage = from bytes in Gen.Elements(NotProtobuf)
                      from alone in Gen.Elements(true, false)
                      select (Bytes: bytes, Alone: alone);
        var broken = garbage.Select(g =>
        {
            var valid = method.Template();
            var message = g.Alone ? g.Bytes : Concat(Bytes(valid[0]), g.Bytes);
            return Build(method, "not protobuf", $"{Convert.ToHexString(g.Bytes)}{(g.Alone ? " alone" : " after the request")}",
                Framed(message, valid.Skip(1)), expected: InvalidArgument);
        });
        var deep = Gen.Elements(101, 1_000, 100_000).Select(depth =>
        {
            var valid = method.Template();
            return Build(method, "not protobuf", $"{depth} nested unknown groups after the request",
                Framed(Concat(Bytes(valid[0]), NestedGroups(depth)), valid.Skip(1)), expected: InvalidArgument);
        });
        return Gen.Frequency<GrpcCase>((6, broken), (1, deep));
    }

    /// <summary>The valid request with one of its string fields (possibly nested) set again to bytes that are not UTF-8.</summary>
    private static Gen<GrpcCase> BadUtf8Family(GrpcMethod method, FieldDescriptor[][] paths) =>
        from path in Gen.Elements(paths)
        from bad in Gen.Elements(BadUtf8)
        select BadUtf8Case(method, path, bad);

    private static GrpcCase BadUtf8Case(GrpcMethod method, FieldDescriptor[] path, byte[] bad)
    {
        var valid = method.Template();
        var message = Concat(Bytes(valid[0]), NestedString(path, [(byte)'a', .. bad, (byte)'b']));
        return Build(method, "bad UTF-8", $"{Convert.ToHexString(bad)} in {string.Join(".", path.Select(f => f.Name))}",
            Framed(message, valid.Skip(1)), expected: InvalidArgument);
    }

    /// <summary>
    /// A refused request in broken framing: lengths that lie, flags and encodings that do not match, messages where one
    /// is expected, truncated prefixes, compressed garbage. A stream's messages are never cut short: the prefix of a
    /// message may be a valid message of its own, and a stream would act on it.
    /// </summary>
    private static Gen<GrpcCase> Framing(GrpcMethod method)
    {
        var poisoned = Poisoned(method).Where(p => p.Stream.Count > 0); // framing needs a first message
        var cases = new List<Gen<GrpcCase>>
        {
            poisoned.SelectMany(p => Gen.Choose(1, 1_000).Select(extra =>
                FramingCase(method, p, $"declared {extra} bytes longer than sent", Frame(Bytes(p.Stream[0]), declared: Bytes(p.Stream[0]).Length + extra), p.Stream.Skip(1), InvalidArgument))),
            poisoned.SelectMany(p => Gen.Choose(2, 255).Select(flag =>
                FramingCase(method, p, $"compressed flag {flag}", Flagged(Frame(Bytes(p.Stream[0])), (byte)flag), p.Stream.Skip(1), InvalidArgument))),
            poisoned.Select(p => FramingCase(method, p, "compressed flag without grpc-encoding", Frame(Bytes(p.Stream[0]), compressed: true), p.Stream.Skip(1), InvalidArgument)),
            poisoned.Select(p => FramingCase(method, p, "compressed flag with grpc-encoding identity", Frame(Bytes(p.Stream[0]), compressed: true), p.Stream.Skip(1), InvalidArgument,
                [new("grpc-encoding", "identity")])),
            poisoned.SelectMany(p => Gen.Elements("gzip", "deflate").Select(encoding =>
                FramingCase(method, p, $"{encoding} that does not decompress", Frame(Concat([0xFF, 0xFF], Bytes(p.Stream[0])), compressed: true), p.Stream.Skip(1), InvalidArgument,
                    [new("grpc-encoding", encoding)]))),
            // An encoding the server does not know: UNIMPLEMENTED, as the gRPC compression spec requires.
            poisoned.SelectMany(p => Gen.Elements("br", "zstd", "snappy", "x-unknown").Select(encoding =>
                FramingCase(method, p, $"unsupported grpc-encoding {encoding}", Frame(Bytes(p.Stream[0]), compressed: true), p.Stream.Skip(1),
                    [StatusCode.Unimplemented], [new("grpc-encoding", encoding)]))),
            // Properly compressed: the refusal is about the content, as uncompressed.
            poisoned.SelectMany(p => Gen.Elements("gzip", "deflate").Select(encoding =>
                FramingCase(method, p, $"a refused request, {encoding}-compressed", Frame(Compress(Bytes(p.Stream[0]), encoding), compressed: true),
                    p.Stream.Skip(1), null, [new("grpc-encoding", encoding)]))),
            poisoned.SelectMany(p => Gen.Elements(uint.MaxValue, (uint)int.MaxValue + 1, (uint)int.MaxValue, MaxMessageBytes + 1u).Select(length =>
                FramingCase(method, p, $"declared length {length:N0}", Frame(Bytes(p.Stream[0]), declared: length), [],
                    [StatusCode.ResourceExhausted, StatusCode.InvalidArgument]))),
            Gen.Choose(1, 4).Select(n => Build(method, "framing", $"a header cut after {n} byte(s)", new byte[n], expected: InvalidArgument)),
        };

        if (!method.IsStreamingRequest)
        {
            // An empty message is sent as one zero byte: declaring less than nothing is not possible.
            cases.Add(poisoned.Select(p => Bytes(p.Stream[0]) is { Length: > 0 } m ? m : [0]).SelectMany(message => Gen.Choose(1, message.Length).Select(shorter =>
                Build(method, "framing", $"declared {shorter} bytes shorter than sent", Frame(message, declared: message.Length - shorter), expected: InvalidArgument))));
            cases.Add(poisoned.SelectMany(p => Gen.Choose(2, 3).Select(n =>
                FramingCase(method, p, $"{n} messages to a unary call", [.. Enumerable.Range(0, n).SelectMany(_ => Frame(Bytes(p.Stream[0])))], [], InvalidArgument))));
            cases.Add(poisoned.SelectMany(p => Gen.Choose(1, 4).Select(n =>
                FramingCase(method, p, $"{n} stray byte(s) after the message", [.. Frame(Bytes(p.Stream[0])), .. new byte[n]], [], InvalidArgument))));
            cases.Add(Gen.Constant(Build(method, "framing", "no message at all", [], expected: InvalidArgument)));
            // Far more than the limit once decompressed, though small on the wire.
            cases.Add(Gen.Elements(GzipBombs.Value).Select(bomb =>
                Build(method, "framing", $"gzip bomb: {bomb.Size:N0} bytes once decompressed", Frame(bomb.Compressed, compressed: true),
                    metadata: [new("grpc-encoding", "gzip")], expected: [StatusCode.ResourceExhausted])));
        }

        return Gen.OneOf(cases);
    }

    private static GrpcCase FramingCase(GrpcMethod method, (List<IMessage> Stream, string Detail) poisoned, string detail, byte[] first, IEnumerable<IMessage> rest,
        IReadOnlyList<StatusCode>? expected, IReadOnlyList<KeyValuePair<string, string>>? metadata = null) =>
        Build(method, "framing", $"{detail}; {poisoned.Detail}", [.. first, .. GrpcWire.Frames([.. rest])], metadata: metadata, expected: expected);

    /// <summary>A refused request under a content type that is not gRPC (HTTP 415), or a gRPC one spelled differently.</summary>
    private static Gen<GrpcCase> ContentTypes(GrpcMethod method) =>
        from poisoned in Poisoned(method)
        from type in Gen.Elements(WrongContentTypes.Concat(new string?[] { null, "application/grpc+proto", "application/grpc+json", "application/grpc; charset=utf-8" }).ToArray())
        let grpc = type is not null && (type == "application/grpc" || type.StartsWith("application/grpc+", StringComparison.Ordinal) || type.StartsWith("application/grpc;", StringComparison.Ordinal))
        select Build(method, "content type", $"{type ?? "none"}; {poisoned.Detail}", Frames(poisoned.Stream), type,
            expectedHttp: grpc ? null : 415);

    /// <summary>A refused request with metadata a gRPC server must tolerate (and must not let change the outcome).</summary>
    private static Gen<GrpcCase> OddMetadata(GrpcMethod method) =>
        from poisoned in Poisoned(method)
        from header in Gen.Elements<KeyValuePair<string, string>>(
            new("grpc-timeout", "abc"), new("grpc-timeout", "99999999H"), new("grpc-timeout", "-1S"), new("grpc-encoding", "gzip"),
            new("grpc-accept-encoding", "nope, ,,"), new("grpc-message-type", "meshos.v1.Other"), new("user-agent", new string('u', 8_000)),
            new("grpc-status", "0"), new("grpc-previous-rpc-attempts", "-1"), new("x-api-key", "garbage-after-the-real-key"))
        select Build(method, "metadata", $"{header.Key}: {Describe.Clip(header.Value, 30)}; {poisoned.Detail}", Frames(poisoned.Stream), metadata: [header]);

    /// <summary>A valid request from a caller that may not make it: no or bad credentials, the wrong role, another tenant.</summary>
    private Gen<GrpcCase> Credentials(GrpcMethod method) =>
        Gen.Elements(HostileCallers(method).ToArray()).Select(c =>
            Build(method, "credentials", c.Detail, Frames(c.Stream ?? method.Template()), caller: c.Caller, expected: [c.Status]));

    private IEnumerable<(Caller Caller, StatusCode Status, string Detail, List<IMessage>? Stream)> HostileCallers(GrpcMethod method)
    {
        foreach (var caller in new[] { Caller.None, Caller.GarbageKey, Caller.ForgedKey, Caller.BadEnrollment, Caller.BasicAuth, Caller.HugeKey })
        {
            yield return (caller, StatusCode.Unauthenticated, caller.ToString(), null);
        }

        switch (method.Role)
        {
            case Role.Operator:
                yield return (Caller.Tenant, StatusCode.PermissionDenied, "a tenant", null);
                yield return (Caller.OtherTenant, StatusCode.PermissionDenied, "another tenant", null);
                yield return (Caller.Enrollment, StatusCode.PermissionDenied, "an agent", null);
                break;
            case Role.Tenant:
                yield return (Caller.Operator, StatusCode.PermissionDenied, "the operator", null);
                yield return (Caller.Enrollment, StatusCode.PermissionDenied, "an agent", null);
                if (method.Name is "Get" or "Cancel" or "Watch")
                {
                    yield return (Caller.OtherTenant, StatusCode.NotFound, "another tenant, on the tenant's job", null);
                }

                break;
            case Role.OperatorOrTenant:
                yield return (Caller.Enrollment, StatusCode.PermissionDenied, "an agent", null);
                if (method.Name is "Get")
                {
                    yield return (Caller.OtherTenant, StatusCode.NotFound, "another tenant, on the tenant's job", null);
                }

                break;
            case Role.Agent:
                yield return (Caller.Operator, StatusCode.PermissionDenied, "the operator", null);
                if (method.Service == "meshos.v1.AgentChannel")
                {
                    // Taking over the tenant's agent id: another owner, refused as a conflict.
                    var stolen = new AgentMessage { Register = GrpcCatalog.ValidRegister(world, world.AgentId) };
                    stolen.Register.Pool = world.Other.Id;
                    yield return (Caller.OtherTenant, StatusCode.AlreadyExists, "another tenant registering the tenant's agent id", [stolen]);
                    var platform = stolen.Clone();
                    platform.Register.Pool = "platform";
                    yield return (Caller.Enrollment, StatusCode.AlreadyExists, "a platform agent registering the tenant's agent id", [platform]);
                }

                break;
        }
    }

    /// <summary>A message over the gateway's 8 MiB limit (a string field, or an unknown field where there is none): refused before it is read.</summary>
    private static Gen<GrpcCase> Huge(GrpcMethod method) =>
        Gen.Choose(1, 64 * 1024).Select(extra =>
        {
            var valid = method.Template();
            var path = StringFieldPaths(valid[0].Descriptor, depth: 3).FirstOrDefault();
            var filler = Encoding.UTF8.GetBytes(new string('x', MaxMessageBytes + extra));
            var message = Concat(Bytes(valid[0]), path is null ? LengthDelimited(1000, filler) : NestedString(path, filler));
            return Build(method, HugeFamily, $"a message of {message.Length:N0} bytes", Framed(message, valid.Skip(1)), expected: [StatusCode.ResourceExhausted]);
        });

    private static GrpcCase Build(GrpcMethod method, string family, string detail, byte[] body, string? contentType = "application/grpc", Caller? caller = null,
        IReadOnlyList<KeyValuePair<string, string>>? metadata = null, IReadOnlyList<StatusCode>? expected = null, int? expectedHttp = null) =>
        new(family, detail, method, caller ?? Correct(method), body, contentType, metadata ?? [], expected, expectedHttp);

    private static Caller Correct(GrpcMethod method) => method.Role == Role.Operator ? Caller.Operator : Caller.Tenant;

    /// <summary>Sends the case; no answer at all (an exception) comes back as null.</summary>
    public async Task<(GrpcAnswer? Answer, string? Failure)> SendAsync(GrpcWire wire, GrpcCase c)
    {
        try
        {
            var answer = await wire.CallAsync(c.Method.Path, c.Body, world.Credentials(c.Caller).Concat(c.Metadata), c.ContentType);
            return (answer, null);
        }
        catch (HttpRequestException ex) when (ex.InnerException is HttpProtocolException { ErrorCode: EnhanceYourCalm })
        {
            // Kestrel resets a stream that keeps sending after it was answered (a huge message refused on its header).
            // gRPC maps the reset to RESOURCE_EXHAUSTED ("too much data"): a refusal like any other.
            return (new GrpcAnswer(0, null, StatusCode.ResourceExhausted, ex.Message, [], new Dictionary<string, string>()), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return (null, $"no answer: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>
    /// The status a gRPC client reports for <paramref name="answer"/>: grpc-status for HTTP 200, otherwise the gRPC
    /// mapping of the HTTP status (401 Unauthenticated, 403 PermissionDenied, 404 Unimplemented, 429 and 5xx
    /// Unavailable, anything else Unknown).
    /// </summary>
    public static StatusCode? ClientStatus(GrpcAnswer answer) => answer.HttpStatus switch
    {
        200 or 0 => answer.Status, // 0: the stream was reset, the status is the gRPC mapping of its error code
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>The contract every answer to a hostile call must keep; returns the broken rule, or null.</summary>
    public static string? Judge(GrpcCase c, GrpcAnswer answer)
    {
        if (c.ExpectedHttp is { } http)
        {
            return answer.HttpStatus == http ? null : $"{c.Family}: expected HTTP {http}, got HTTP {answer.HttpStatus}";
        }

        var status = ClientStatus(answer);
        if (status is null)
        {
            return "HTTP 200 without grpc-status";
        }

        if (status == StatusCode.OK)
        {
            if (c.Method.Name != "SubmitBatch")
            {
                return "hostile call accepted";
            }

            return EveryEntryRefused(answer) is { } entry ? $"hostile batch accepted: {entry}" : null;
        }

        if (answer.Messages.Count > 0)
        {
            return $"{answer.Messages.Count} message(s) streamed before the refusal";
        }

        var allowed = c.Expected ?? Refusals;
        return allowed.Contains(status.Value)
            ? null
            : c.Expected is null ? $"status {status} is not a client refusal" : $"{c.Family}: expected {string.Join(" or ", allowed)}, got {status}";
    }

    /// <summary>Null when a batch answered OK refused every entry on its own; otherwise what is wrong.</summary>
    private static string? EveryEntryRefused(GrpcAnswer answer)
    {
        if (answer.Messages.Count != 1)
        {
            return $"{answer.Messages.Count} response messages";
        }

        var results = SubmitJobBatchResponse.Parser.ParseFrom(answer.Messages[0]).Results;
        if (results.Count == 0)
        {
            return "no results";
        }

        var accepted = results.FirstOrDefault(r => r.Job is not null || !Refusals.Contains((StatusCode)r.ErrorCode));
        return accepted is null ? null : $"an entry was not refused: {Describe.Clip(accepted.ToString(), 200)}";
    }

    private static byte[] Bytes(IMessage message) => message.ToByteArray();

    private static byte[] Concat(byte[] first, byte[] second) => [.. first, .. second];

    private static byte[] Frames(IReadOnlyList<IMessage> stream) => GrpcWire.Frames([.. stream]);

    /// <summary>The first message as raw bytes, the rest of the stream as messages.</summary>
    private static byte[] Framed(byte[] first, IEnumerable<IMessage> rest) => [.. Frame(first), .. GrpcWire.Frames([.. rest])];

    private static byte[] Frame(byte[] message, bool compressed = false, long? declared = null) =>
        GrpcWire.Frame(message, compressed, declared is { } d ? (uint)Math.Clamp(d, 0, uint.MaxValue) : null);

    private static byte[] Flagged(byte[] frame, byte flag)
    {
        frame[0] = flag;
        return frame;
    }

    private static byte[] Compress(byte[] data, string encoding)
    {
        using var output = new MemoryStream();
        using (Stream compressor = encoding == "gzip" ? new GZipStream(output, CompressionLevel.Fastest) : new ZLibStream(output, CompressionLevel.Fastest))
        {
            compressor.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Paths of field descriptors to every string field, through singular, repeated and map message fields.</summary>
    private static IEnumerable<FieldDescriptor[]> StringFieldPaths(MessageDescriptor message, int depth)
    {
        foreach (var field in message.Fields.InFieldNumberOrder())
        {
            if (field.FieldType == FieldType.String)
            {
                yield return [field];
            }
            else if (field.FieldType == FieldType.Message && depth > 1 && !field.MessageType.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal))
            {
                foreach (var inner in StringFieldPaths(field.MessageType, depth - 1))
                {
                    yield return [field, .. inner];
                }
            }
        }
    }

    /// <summary>
    /// One more occurrence of the string field at <paramref name="path"/>: the parser merges it into the message (a later
    /// occurrence of a singular field wins; a repeated one gains an element), so it must read the bytes as UTF-8.
    /// </summary>
    private static byte[] NestedString(FieldDescriptor[] path, byte[] value)
    {
        var bytes = LengthDelimited(path[^1].FieldNumber, value);
        for (var i = path.Length - 2; i >= 0; i--)
        {
            bytes = LengthDelimited(path[i].FieldNumber, bytes);
        }

        return bytes;
    }

    /// <summary>Unknown groups (field 1000) nested past the parser's recursion limit of 100.</summary>
    private static byte[] NestedGroups(int depth)
    {
        byte[] start = [.. Varint((1000 << 3) | 3)];
        byte[] end = [.. Varint((1000 << 3) | 4)];
        var bytes = new byte[depth * (start.Length + end.Length)];
        for (var i = 0; i < depth; i++)
        {
            start.CopyTo(bytes, i * start.Length);
            end.CopyTo(bytes, (depth * start.Length) + (i * end.Length));
        }

        return bytes;
    }

    private static byte[] LengthDelimited(int field, byte[] content) => [.. Varint(((ulong)field << 3) | 2), .. Varint((ulong)content.Length), .. content];

    private static IEnumerable<byte> Varint(ulong value)
    {
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            yield return value == 0 ? b : (byte)(b | 0x80);
        }
        while (value != 0);
    }
}
