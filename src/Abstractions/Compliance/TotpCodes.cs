using System.Diagnostics.CodeAnalysis;
using OtpNet;

namespace MeshOs.Abstractions.Compliance;

/// <summary>Where an operator key's second factor (a TOTP secret) stands; the access review shows this and nothing more.</summary>
public enum MfaStatus
{
    /// <summary>No TOTP secret: the key cannot make a production action where <c>production-mfa</c> is enforced.</summary>
    None,

    /// <summary>A secret was handed out but no code from it confirmed yet: not in use.</summary>
    Pending,

    /// <summary>Confirmed: codes from it are the key's second factor.</summary>
    Enabled,
}

/// <summary>What checking a presented TOTP code found.</summary>
public enum TotpOutcome
{
    /// <summary>A code of the current step or one either side, not used before: the second factor is given.</summary>
    Accepted,

    /// <summary>No code was presented.</summary>
    Missing,

    /// <summary>A code was presented but it is not the secret's code for the current step or one either side.</summary>
    Wrong,

    /// <summary>The code is right but its step (or a later one) was already accepted for this key: a replay.</summary>
    Replayed,

    /// <summary>The key has no confirmed TOTP secret, so no code can be right.</summary>
    NotEnrolled,
}

/// <summary>The result of checking one code: the outcome and, when accepted, the time step it was accepted for.</summary>
[GenerateSerializer, Immutable, Alias("meshos.TotpCheck")]
public readonly record struct TotpCheck([property: Id(0)] TotpOutcome Outcome, [property: Id(1)] long Step = 0)
{
    public bool Accepted => Outcome == TotpOutcome.Accepted;
}

/// <summary>
/// RFC 6238 time-based one-time passwords as every authenticator app reads them: HMAC-SHA-1, 6 digits, 30 s steps,
/// one step either side of now accepted (clock drift and the time to type). A code is accepted only for a step later
/// than the last accepted one of the same key (RFC 6238 §5.2), so a code seen once cannot be used again, and codes
/// are one per call: a second call within the same 30 s needs the next code.
/// </summary>
public static class TotpCodes
{
    public const int Digits = 6;
    public const int StepSeconds = 30;

    /// <summary>Steps accepted either side of the current one.</summary>
    public const int Tolerance = 1;

    /// <summary>The secret's length in bytes: 160 bits, as RFC 4226 recommends for HMAC-SHA-1.</summary>
    public const int SecretBytes = 20;

    /// <summary>Shortest secret accepted from configuration: 128 bits (RFC 4226's minimum).</summary>
    public const int MinSecretBytes = 16;

    /// <summary>The issuer authenticator apps show beside the account.</summary>
    public const string Issuer = "MeshOs";

    private static readonly VerificationWindow Window = new(previous: Tolerance, future: Tolerance);

    /// <summary>A new random secret.</summary>
    public static byte[] NewSecret() => KeyGeneration.GenerateRandomKey(SecretBytes);

    /// <summary>The secret in base32 (RFC 4648, upper case, no padding), as authenticator apps take it.</summary>
    public static string ToBase32(byte[] secret) => Base32Encoding.ToString(secret).TrimEnd('=');

    /// <summary>
    /// Reads a base32 secret (case and spaces ignored, padding optional); false unless it is base32 of at least
    /// <see cref="MinSecretBytes"/> bytes.
    /// </summary>
    public static bool TryParseBase32(string? text, [NotNullWhen(true)] out byte[]? secret)
    {
        secret = null;
        var compact = string.Concat((text ?? string.Empty).Where(c => c != ' ')).TrimEnd('=').ToUpperInvariant();
        if (compact.Length == 0 || compact.Length > 1024 || !compact.All(c => c is (>= 'A' and <= 'Z') or (>= '2' and <= '7')))
        {
            return false;
        }

        var bytes = Base32Encoding.ToBytes(compact);
        if (bytes.Length < MinSecretBytes)
        {
            return false;
        }

        secret = bytes;
        return true;
    }

    /// <summary>The <c>otpauth://totp/…</c> URI (the one QR codes carry) of a secret for <paramref name="account"/>.</summary>
    public static string Uri(byte[] secret, string account) =>
        new OtpUri(OtpType.Totp, ToBase32(secret), account, Issuer, OtpHashMode.Sha1, Digits, StepSeconds, 0).ToString();

    /// <summary>The time step <paramref name="at"/> falls in (seconds since the Unix epoch ÷ 30).</summary>
    public static long StepAt(DateTimeOffset at) => at.ToUnixTimeSeconds() / StepSeconds;

    /// <summary>The code of <paramref name="secret"/> at <paramref name="at"/> (for tests and tools; the server never shows one).</summary>
    public static string CodeAt(byte[] secret, DateTimeOffset at) => Generator(secret).ComputeTotp(at.UtcDateTime);

    /// <summary>
    /// Checks <paramref name="code"/> against <paramref name="secret"/> at <paramref name="now"/>: accepted when it is
    /// the code of the current step or one either side, and that step is later than <paramref name="lastAcceptedStep"/>.
    /// A code not of 6 digits is wrong without computing anything.
    /// </summary>
    public static TotpCheck Verify(byte[]? secret, string? code, DateTimeOffset now, long lastAcceptedStep)
    {
        if (string.IsNullOrEmpty(code))
        {
            return new(TotpOutcome.Missing);
        }

        if (secret is null)
        {
            return new(TotpOutcome.NotEnrolled);
        }

        if (code.Length != Digits || !code.All(char.IsAsciiDigit) || !Generator(secret).VerifyTotp(now.UtcDateTime, code, out var step, Window))
        {
            return new(TotpOutcome.Wrong);
        }

        return step > lastAcceptedStep ? new(TotpOutcome.Accepted, step) : new(TotpOutcome.Replayed, step);
    }

    private static Totp Generator(byte[] secret) => new(secret, StepSeconds, OtpHashMode.Sha1, Digits);
}
