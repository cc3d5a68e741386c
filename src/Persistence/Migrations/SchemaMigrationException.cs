namespace MeshOs.Persistence.Migrations;

/// <summary>
/// The schema could not be brought up to date: the database is unreachable or refuses the credentials,
/// it cannot be created, an applied migration was edited, or a migration failed (and was rolled back).
/// The message names host, port and database, never the password.
/// </summary>
public sealed class SchemaMigrationException : Exception
{
    public SchemaMigrationException()
    {
    }

    public SchemaMigrationException(string message)
        : base(message)
    {
    }

    public SchemaMigrationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
