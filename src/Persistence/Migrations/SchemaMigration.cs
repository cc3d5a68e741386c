using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MeshOs.Persistence.Migrations;

/// <summary>
/// One forward-only schema migration: the file <c>sql/NNNN_name.sql</c>, embedded in this assembly as
/// the resource <c>MeshOs.Sql.NNNN_name.sql</c>.
/// </summary>
/// <param name="Version">The number before the first underscore; migrations run in ascending order.</param>
/// <param name="Name">The rest of the file name, without extension.</param>
/// <param name="Sql">The script, run as one command inside one transaction.</param>
public sealed partial record SchemaMigration(int Version, string Name, string Sql)
{
    /// <summary>Prefix of the embedded resource names of migrations.</summary>
    public const string ResourcePrefix = "MeshOs.Sql.";

    /// <summary>
    /// SHA-256 (lower-case hex) of the script with line endings normalized to LF, so a checkout with CRLF
    /// line endings does not look like an edited migration.
    /// </summary>
    public string Checksum { get; } = ComputeChecksum(Sql);

    /// <summary>The name the migration is known by in logs and errors, e.g. <c>0002_orleans_persistence</c>.</summary>
    public string DisplayName => string.Create(CultureInfo.InvariantCulture, $"{Version:0000}_{Name}");

    /// <summary>Loads every embedded migration of this assembly, ordered by version.</summary>
    /// <exception cref="InvalidOperationException">A resource is misnamed or two files share a version.</exception>
    public static IReadOnlyList<SchemaMigration> LoadEmbedded() => Load(typeof(SchemaMigration).Assembly);

    /// <summary>Loads the migrations embedded in <paramref name="assembly"/> under <see cref="ResourcePrefix"/>, ordered by version.</summary>
    public static IReadOnlyList<SchemaMigration> Load(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var migrations = new List<SchemaMigration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var match = ResourceNamePattern().Match(resource);
            if (!match.Success)
            {
                throw new InvalidOperationException(
                    $"Embedded SQL resource '{resource}' is not named like a migration (sql/NNNN_name.sql, name in [A-Za-z0-9_]).");
            }

            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"Embedded resource '{resource}' cannot be read.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(new SchemaMigration(
                int.Parse(match.Groups["version"].Value, NumberStyles.None, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                reader.ReadToEnd()));
        }

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Migrations {string.Join(" and ", duplicate.Select(m => m.DisplayName))} share version {duplicate.Key}.");
        }

        return [.. migrations.OrderBy(m => m.Version)];
    }

    private static string ComputeChecksum(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var normalized = sql.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
    }

    [GeneratedRegex(@"^MeshOs\.Sql\.(?<version>[0-9]{4,9})_(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex ResourceNamePattern();
}
