namespace MeshOs.Grains.Cost;

/// <summary>Budgets (<c>MeshOs:Cost</c>): the currency every amount of the mesh is in.</summary>
public sealed class BudgetOptions
{
    public const string Section = "MeshOs:Cost";

    /// <summary>The mesh's cost currency, an ISO 4217 code: budgets and spend reports must be in it. Default USD.</summary>
    public string Currency { get; set; } = "USD";

    /// <summary>Whether <see cref="Currency"/> is three uppercase letters.</summary>
    public static bool IsCurrencyCode(string? code) => code is { Length: 3 } && code.All(char.IsAsciiLetterUpper);
}
