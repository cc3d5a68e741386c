using System.Text;
using System.Text.Json;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>What an agent may report: a JSON result within the size limit, an error text, sane usage figures.</summary>
public static class JobResultPolicy
{
    /// <summary>Largest cost one attempt may report (the store keeps numeric(20,6)).</summary>
    public const decimal MaxCost = 1_000_000_000_000m;

    /// <summary>Largest token count one attempt may report.</summary>
    public const long MaxTokens = 1_000_000_000_000_000L;

    public const int MaxErrorLength = 10_000;

    private static readonly JsonDocumentOptions Parsing = new() { MaxDepth = 64 };

    /// <summary>
    /// Returns the result to store: InvalidArgument for a result that is not JSON, too large, or with absurd usage; an
    /// error text is cut to <see cref="MaxErrorLength"/> and stripped of NUL characters (which PostgreSQL text refuses).
    /// </summary>
    public static JobResult Validate(JobResult result, int maxResultBytes)
    {
        if (result.ResultJson is { } json)
        {
            if (Encoding.UTF8.GetByteCount(json) > maxResultBytes)
            {
                throw MeshException.Invalid($"The result is larger than {maxResultBytes} bytes.");
            }

            try
            {
                using var _ = JsonDocument.Parse(json, Parsing);
            }
            catch (JsonException ex)
            {
                throw MeshException.Invalid("The result is not valid JSON: " + ex.Message);
            }
        }

        var usage = result.Usage ?? JobUsage.None;
        if (usage.TokensIn is < 0 or > MaxTokens || usage.TokensOut is < 0 or > MaxTokens || usage.Cost is < 0 or > MaxCost)
        {
            throw MeshException.Invalid("usage", $"tokens 0–{MaxTokens}, cost 0–{MaxCost}.");
        }

        Abstractions.Cost.MeteredUsage.Validate(usage.MeteredItems());

        var error = result.Error;
        if (error is not null)
        {
            error = error.Replace("\0", string.Empty, StringComparison.Ordinal);
            error = error.Length > MaxErrorLength ? error[..MaxErrorLength] : error;
        }

        return result with { Error = error, Usage = usage };
    }
}
