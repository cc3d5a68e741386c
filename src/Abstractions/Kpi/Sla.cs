namespace MeshOs.Abstractions.Kpi;

/// <summary>
/// An SLA credit band: the share of the month's bill credited when monthly availability falls in
/// [<paramref name="AtLeast"/>, <paramref name="LessThan"/>) (percent; null: unbounded).
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.SlaBand")]
public sealed record SlaBand(decimal? AtLeast, decimal? LessThan, int CreditPercent)
{
    /// <summary>How the band reads in a contract: "less than 99.95% but at least 99.0%".</summary>
    public string Describe() => (AtLeast, LessThan) switch
    {
        ({ } low, null) => $"at least {low}%",
        (null, { } high) => $"less than {high}%",
        ({ } low, { } high) => $"less than {high}% but at least {low}%",
        _ => "any",
    };
}
