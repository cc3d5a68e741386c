using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Errors;

/// <summary>
/// Declares, for the OpenAPI document, the problem-details answers a route group or endpoint can give, so that every
/// 4xx a client can meet is documented with the problem schema (the REST fuzzer checks each one it sees is declared).
/// </summary>
public static class ProblemResponses
{
    private static readonly string[] ProblemJson = ["application/problem+json"];

    /// <summary>Declares <paramref name="statuses"/> as problem-details answers.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ProblemJson));
        }

        return builder;
    }

    /// <summary>
    /// What every authenticated call can answer: 401 (no or an invalid credential), 403 (a credential of another role),
    /// 429 (too many failed authentications from the address), 503 (the cluster or its store is unavailable).
    /// </summary>
    public static TBuilder ProducesAuthenticatedProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests,
            StatusCodes.Status503ServiceUnavailable);

    /// <summary>What a call with a JSON body can answer besides: 400 (unreadable or invalid), 413 (too large), 415 (not UTF-8 JSON).</summary>
    public static TBuilder ProducesBodyProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType);
}
