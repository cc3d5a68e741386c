using MeshOs.Testing;

namespace MeshOs.Tests.Postgres;

/// <summary>All tests of this project share one private PostgreSQL server; each test uses its own database.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
