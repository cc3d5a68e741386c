namespace MeshOs.Persistence.Migrations;

/// <summary>What a <see cref="SchemaMigrator.MigrateAsync"/> run found and did.</summary>
/// <param name="Database">The database migrated.</param>
/// <param name="CreatedDatabase">True when this run created the database.</param>
/// <param name="Applied">Versions this run applied, ascending.</param>
/// <param name="AlreadyPresent">Versions that were already applied (and whose checksums matched), ascending.</param>
/// <param name="UnknownVersions">
/// Versions recorded in the database that this build does not have: a newer build migrated it. Not an
/// error (rolling upgrades run old and new silos side by side), but logged.
/// </param>
/// <param name="Elapsed">Time from the first connection attempt to the end.</param>
public sealed record MigrationReport(
    string Database,
    bool CreatedDatabase,
    IReadOnlyList<int> Applied,
    IReadOnlyList<int> AlreadyPresent,
    IReadOnlyList<int> UnknownVersions,
    TimeSpan Elapsed);
