using System.CommandLine;
using System.Text.Json;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli;

/// <summary>What a command runs with: its parsed arguments, the resolved settings, the API client and the output.</summary>
public sealed class CliContext : IDisposable
{
    private readonly Lazy<MeshClient> _api;

    private CliContext(ParseResult parse, CliSettings settings, TextWriter output, TextWriter error)
    {
        Parse = parse;
        Settings = settings;
        Out = output;
        Error = error;
        Format = settings.Format;
        _api = new Lazy<MeshClient>(() => CreateClient(TimeSpan.FromSeconds(parse.GetValue(GlobalOptions.Timeout))));
    }

    public ParseResult Parse { get; }

    public CliSettings Settings { get; }

    public OutputFormat Format { get; }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>The API client (created at first use: <c>backup</c>, <c>completion</c> and <c>config</c> need none).</summary>
    public MeshClient Api => _api.Value;

    public static CliContext Create(ParseResult parse) => new(parse,
        CliSettings.Resolve(parse.GetValue(GlobalOptions.Url), parse.GetValue(GlobalOptions.Key), parse.GetValue(GlobalOptions.Output),
            parse.GetValue(GlobalOptions.Config), Environment.GetEnvironmentVariable,
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify)),
        Console.Out, Console.Error);

    /// <summary>A client of its own with another timeout (none: <see cref="Timeout.InfiniteTimeSpan"/>), e.g. for a stream.</summary>
    public MeshClient CreateClient(TimeSpan timeout) =>
        new(Settings.BaseUrl, Settings.Key.Value, Parse.GetValue(GlobalOptions.Otp), timeout);

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);

    public T Value<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    /// <summary>JSON: the answer's text unchanged. Table: what <paramref name="table"/> writes from the parsed answer.</summary>
    public int Print(ApiResponse response, Action<JsonElement> table)
    {
        if (Format == OutputFormat.Json)
        {
            Out.WriteLine(response.Text);
        }
        else
        {
            table(response.Json);
        }

        return ExitCodes.Ok;
    }

    /// <summary>A page: the array <paramref name="items"/> as a table, then how to ask for the next page if there is one.</summary>
    public int PrintPage(ApiResponse response, string items, IReadOnlyList<Column> columns) => Print(response, json =>
    {
        Table.Write(Out, columns, json.GetProperty(items).EnumerateArray());
        if (json.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String)
        {
            Out.WriteLine($"(more: --cursor {next.GetString()})");
        }
    });

    /// <summary>A bare JSON array as a table.</summary>
    public int PrintArray(ApiResponse response, IReadOnlyList<Column> columns) =>
        Print(response, json => Table.Write(Out, columns, json.EnumerateArray()));

    /// <summary>One object (or the object at <paramref name="path"/>) as aligned fields.</summary>
    public int PrintFields(ApiResponse response, IReadOnlyList<Column> fields, string? path = null) => Print(response, json =>
        Table.WriteFields(Out, path is null ? json : json.GetProperty(path), fields));

    public void Dispose()
    {
        if (_api.IsValueCreated)
        {
            _api.Value.Dispose();
        }
    }
}
