using System.Text;
using Orleans.Runtime;
using Orleans.Storage;

namespace MeshOs.Persistence.Orleans;

/// <summary>
/// Makes the ADO.NET grain storage keep one row per grain identity. The provider builds its key from the
/// state name and a lossy form of the grain key (no grain type; string keys that parse as hexadecimal
/// become integers), so by default different grains can share a row (dotnet/orleans #8746, #9737, #9706).
/// The provider also passes the two hashes it computes through this picker, and the MeshOs schema keeps
/// both hashes in the row identity: mixing the full <see cref="GrainId"/> (type and original key) into them
/// separates those grains.
/// </summary>
/// <remarks>
/// Changing the picker changes every hash: rows written with another picker are no longer found. The silo uses it
/// from the first deployment on (see SiloHostingExtensions); never swap it on a live database.
/// </remarks>
public sealed class GrainIdentityHashPicker : IStorageHasherPicker
{
    private static readonly IHasher Inner = new OrleansDefaultHasher();

    public ICollection<IHasher> HashProviders { get; } = [Inner];

    public IHasher? PickHasher<T>(string serviceId, string storageProviderInstanceName, string grainType, GrainId grainId, IGrainState<T> grainState, string? tag = null) =>
        new IdentityHasher(grainId);

    private sealed class IdentityHasher(GrainId grainId) : IHasher
    {
        public string Description => "Orleans stable hash of the full grain id followed by the provider's bytes.";

        public int Hash(byte[] data)
        {
            var identity = Encoding.UTF8.GetBytes(grainId.ToString());
            var bytes = new byte[identity.Length + 1 + data.Length];
            identity.CopyTo(bytes, 0);
            data.CopyTo(bytes, identity.Length + 1);
            return Inner.Hash(bytes);
        }
    }
}
