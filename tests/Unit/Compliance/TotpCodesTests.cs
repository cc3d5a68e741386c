using System.Text;
using MeshOs.Abstractions.Compliance;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Compliance;

public sealed class TotpCodesTests
{
    /// <summary>The SHA-1 seed of RFC 6238's appendix B.</summary>
    private static readonly byte[] RfcSecret = Encoding.ASCII.GetBytes("12345678901234567890");

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.FromUnixTimeSeconds(1_234_567_890));

    [Theory]
    [InlineData(59, "287082")]
    [InlineData(1_111_111_109, "081804")]
    [InlineData(1_234_567_890, "005924")]
    [InlineData(2_000_000_000, "279037")]
    public void Codes_are_rfc_6238s_sha1_vectors_cut_to_six_digits(long unixSeconds, string code)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        Assert.Equal(code, TotpCodes.CodeAt(RfcSecret, at));
        Assert.Equal(new TotpCheck(TotpOutcome.Accepted, unixSeconds / 30), TotpCodes.Verify(RfcSecret, code, at, lastAcceptedStep: 0));
    }

    [Fact]
    public void A_code_is_accepted_one_step_either_side_of_now_and_not_two()
    {
        var now = _clock.GetUtcNow();
        var step = TotpCodes.StepAt(now);
        foreach (var offset in new[] { -1, 0, 1 })
        {
            var code = TotpCodes.CodeAt(RfcSecret, now.AddSeconds(30 * offset));
            Assert.Equal(new TotpCheck(TotpOutcome.Accepted, step + offset), TotpCodes.Verify(RfcSecret, code, now, lastAcceptedStep: 0));
        }

        foreach (var offset in new[] { -2, 2 })
        {
            var code = TotpCodes.CodeAt(RfcSecret, now.AddSeconds(30 * offset));
            Assert.Equal(TotpOutcome.Wrong, TotpCodes.Verify(RfcSecret, code, now, lastAcceptedStep: 0).Outcome);
        }

        // The same code, typed late: still good 30 s into the next step, not 60 s.
        var typed = TotpCodes.CodeAt(RfcSecret, now);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(TotpCodes.Verify(RfcSecret, typed, _clock.GetUtcNow(), lastAcceptedStep: 0).Accepted);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TotpOutcome.Wrong, TotpCodes.Verify(RfcSecret, typed, _clock.GetUtcNow(), lastAcceptedStep: 0).Outcome);
    }

    [Fact]
    public void A_code_whose_step_or_a_later_one_was_accepted_is_a_replay_until_the_next_step_brings_a_new_code()
    {
        var code = TotpCodes.CodeAt(RfcSecret, _clock.GetUtcNow());
        var first = TotpCodes.Verify(RfcSecret, code, _clock.GetUtcNow(), lastAcceptedStep: 0);
        Assert.True(first.Accepted);

        // Again at once, and again 20 s later while it is still on the authenticator's screen: refused.
        Assert.Equal(new TotpCheck(TotpOutcome.Replayed, first.Step), TotpCodes.Verify(RfcSecret, code, _clock.GetUtcNow(), first.Step));
        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(TotpOutcome.Replayed, TotpCodes.Verify(RfcSecret, code, _clock.GetUtcNow(), first.Step).Outcome);

        // The previous step's code is still in the window but older than the accepted one: refused too.
        var older = TotpCodes.CodeAt(RfcSecret, _clock.GetUtcNow().AddSeconds(-30));
        Assert.Equal(new TotpCheck(TotpOutcome.Replayed, first.Step - 1), TotpCodes.Verify(RfcSecret, older, _clock.GetUtcNow(), first.Step));

        // The next step's code is new.
        _clock.Advance(TimeSpan.FromSeconds(30));
        var next = TotpCodes.CodeAt(RfcSecret, _clock.GetUtcNow());
        Assert.Equal(new TotpCheck(TotpOutcome.Accepted, first.Step + 1), TotpCodes.Verify(RfcSecret, next, _clock.GetUtcNow(), first.Step));
    }

    [Theory]
    [InlineData(null, TotpOutcome.Missing)]
    [InlineData("", TotpOutcome.Missing)]
    [InlineData("00592", TotpOutcome.Wrong)]
    [InlineData("0059240", TotpOutcome.Wrong)]
    [InlineData("00592a", TotpOutcome.Wrong)]
    [InlineData(" 005924", TotpOutcome.Wrong)]
    [InlineData("１２３４５６", TotpOutcome.Wrong)]
    [InlineData("005925", TotpOutcome.Wrong)]
    public void A_missing_or_malformed_or_wrong_code_is_not_accepted(string? code, TotpOutcome outcome) =>
        Assert.Equal(outcome, TotpCodes.Verify(RfcSecret, code, _clock.GetUtcNow(), lastAcceptedStep: 0).Outcome);

    [Fact]
    public void Without_a_secret_a_presented_code_finds_the_key_not_enrolled()
    {
        Assert.Equal(TotpOutcome.NotEnrolled, TotpCodes.Verify(null, "005924", _clock.GetUtcNow(), 0).Outcome);
        Assert.Equal(TotpOutcome.Missing, TotpCodes.Verify(null, null, _clock.GetUtcNow(), 0).Outcome);
    }

    [Fact]
    public void A_new_secret_is_160_bits_in_base32_that_reads_back_and_its_uri_is_what_authenticator_apps_take()
    {
        var secret = TotpCodes.NewSecret();
        Assert.Equal(20, secret.Length);
        var base32 = TotpCodes.ToBase32(secret);
        Assert.Matches("^[A-Z2-7]{32}$", base32);
        Assert.True(TotpCodes.TryParseBase32(base32, out var parsed));
        Assert.Equal(secret, parsed);
        Assert.True(TotpCodes.TryParseBase32(" " + base32.ToLowerInvariant()[..16] + " " + base32[16..] + "====", out parsed));
        Assert.Equal(secret, parsed);

        Assert.Equal($"otpauth://totp/MeshOs:operator-key%20abc?secret={base32}&issuer=MeshOs&algorithm=SHA1&digits=6&period=30",
            TotpCodes.Uri(secret, "operator-key abc"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("JBSWY3DPEHPK3PX1")] // 1 is not base32
    [InlineData("JBSWY3DPEHPK3PXP")] // 10 bytes: shorter than 128 bits
    [InlineData("JBSWY3DP-EHPK3PXP-JBSWY3DP-EHPK3PXP")]
    public void A_configured_secret_that_is_not_base32_of_at_least_128_bits_is_refused(string? text) =>
        Assert.False(TotpCodes.TryParseBase32(text, out _));
}
