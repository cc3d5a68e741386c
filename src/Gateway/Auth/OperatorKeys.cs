using System.Collections.Concurrent;
using System.Collections.Immutable;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Auth;

/// <summary>
/// Checked operator keys, for <see cref="GatewaySecurityOptions.KeyCacheDuration"/>; a revocation through this gateway
/// empties it at once, other gateways stop accepting the key within the cache duration. Operator traffic is light: no
/// shared checks and no stale answers (the configured bootstrap key needs no check and always works).
/// </summary>
public sealed class OperatorKeyCache(IGrainFactory grains, IOptions<GatewaySecurityOptions> options, TimeProvider time)
{
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _invalidations;

    public async ValueTask<OperatorKeyHolder?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(key, out var cached) && cached.ExpiresAt > time.GetUtcNow())
        {
            return cached.Holder;
        }

        if (!OperatorKeyFormat.TryParse(key, out var keyId, out var secret))
        {
            return null;
        }

        var invalidations = Interlocked.Read(ref _invalidations);
        var holder = await grains.GetGrain<IOperatorKeysGrain>(0).AuthenticateAsync(keyId, ImmutableArray.Create(ApiKeyFormat.Hash(secret)))
            .WaitAsync(options.Value.KeyCheckTimeout, time, cancellationToken);
        if (Interlocked.Read(ref _invalidations) == invalidations)
        {
            if (_entries.Count > MaxEntries)
            {
                _entries.Clear();
            }

            _entries[key] = new Entry(holder, time.GetUtcNow() + options.Value.KeyCacheDuration);
        }

        return holder;
    }

    /// <summary>Forgets every checked key (after a key was issued or revoked through this gateway).</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _invalidations);
        _entries.Clear();
    }

    private sealed record Entry(OperatorKeyHolder? Holder, DateTimeOffset ExpiresAt);
}

/// <summary>
/// Reports operator keys' use to <see cref="IOperatorKeysGrain"/> for the access review: at most once a minute per key
/// and scope from this gateway, without waiting (a lost report only makes "last used" a minute older).
/// </summary>
public sealed class OperatorKeyUse(IGrainFactory grains, TimeProvider time)
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string KeyId, OperatorScope Scope), DateTimeOffset> _reported = new();

    public void Record(string keyId, OperatorScope scope)
    {
        var now = time.GetUtcNow();
        var slot = (keyId, scope);
        if (_reported.TryGetValue(slot, out var last) && now - last < Every)
        {
            return;
        }

        if (_reported.Count > 10_000)
        {
            _reported.Clear();
        }

        _reported[slot] = now;
        grains.GetGrain<IOperatorKeysGrain>(0).RecordUseAsync(keyId, scope, now).Ignore();
    }
}
