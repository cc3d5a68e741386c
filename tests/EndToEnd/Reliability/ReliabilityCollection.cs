using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// The reliability scenarios run one after another (each loads the machine on its own, and several at once would
/// measure each other), sharing one private PostgreSQL server; each scenario makes its own database on it. The
/// database restart scenario stops its server, so it starts one of its own instead.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReliabilityCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "reliability";
}
