using MeshOs.Abstractions.Compliance;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Auth;

/// <summary>
/// Checks an operator key's TOTP code: an issued key's against the secret in <see cref="IOperatorKeysGrain"/> (which
/// never leaves it), the bootstrap key's against <see cref="GatewaySecurityOptions.OperatorKeyTotpSecret"/>. Either way
/// the operator keys grain keeps the last accepted step, so a code is accepted once across every gateway.
/// </summary>
public sealed class SecondFactors(IGrainFactory grains, IOptions<GatewaySecurityOptions> options, TimeProvider time)
{
    private readonly byte[]? _bootstrapSecret = TotpCodes.TryParseBase32(options.Value.OperatorKeyTotpSecret, out var secret) ? secret : null;

    private IOperatorKeysGrain Keys => grains.GetGrain<IOperatorKeysGrain>(0);

    /// <summary>Whether the bootstrap key has a second factor (from configuration).</summary>
    public MfaStatus BootstrapStatus => _bootstrapSecret is null ? MfaStatus.None : MfaStatus.Enabled;

    public async ValueTask<TotpOutcome> CheckAsync(string keyId, string? code, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(code))
        {
            return TotpOutcome.Missing;
        }

        if (code.Length > ProductionMfa.MaxCodeLength)
        {
            return TotpOutcome.Wrong;
        }

        if (keyId != OperatorKeyFormat.BootstrapKeyId)
        {
            var check = await Keys.VerifyMfaAsync(keyId, code).WaitAsync(options.Value.KeyCheckTimeout, time, cancellationToken);
            return check.Outcome;
        }

        // The last accepted step is not known here: checked against "none" first, then claimed in the grain.
        var local = TotpCodes.Verify(_bootstrapSecret, code, time.GetUtcNow(), lastAcceptedStep: 0);
        if (!local.Accepted)
        {
            return local.Outcome;
        }

        return await Keys.ClaimBootstrapMfaStepAsync(local.Step).WaitAsync(options.Value.KeyCheckTimeout, time, cancellationToken)
            ? TotpOutcome.Accepted
            : TotpOutcome.Replayed;
    }
}
