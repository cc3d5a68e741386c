using MeshOs.Grains.Kpi;

namespace MeshOs.Tests.Unit.Kpi;

/// <summary>The SLA credit bands at their exact edges, and the credit on a bill.</summary>
public sealed class SlaCreditsTests
{
    [Theory]
    [InlineData("100", 0)]
    [InlineData("99.95", 0)]
    [InlineData("99.9499999999", 10)]
    [InlineData("99.5", 10)]
    [InlineData("99.0", 10)]
    [InlineData("98.9999999999", 25)]
    [InlineData("95.0", 25)]
    [InlineData("94.9999999999", 50)]
    [InlineData("0", 50)]
    public void The_band_follows_less_than_x_but_at_least_y(string availability, int credit)
    {
        Assert.Equal(credit, SlaCredits.BandOf(decimal.Parse(availability, System.Globalization.CultureInfo.InvariantCulture)).CreditPercent);
    }

    [Fact]
    public void Minutes_at_the_edges_of_a_thirty_day_month()
    {
        // 43,200 minutes: 21.6 bad minutes is 99.95%; 21 bad is above, 22 below.
        Assert.Equal(0, SlaCredits.BandOf(SlaCredits.Availability(43_200 - 21, 43_200)).CreditPercent);
        Assert.Equal(10, SlaCredits.BandOf(SlaCredits.Availability(43_200 - 22, 43_200)).CreditPercent);
        // 432 bad minutes is exactly 99.0%; 433 is below.
        Assert.Equal(99.0m, SlaCredits.Availability(43_200 - 432, 43_200));
        Assert.Equal(10, SlaCredits.BandOf(SlaCredits.Availability(43_200 - 432, 43_200)).CreditPercent);
        Assert.Equal(25, SlaCredits.BandOf(SlaCredits.Availability(43_200 - 433, 43_200)).CreditPercent);
        // 2,160 bad minutes is exactly 95.0%; 2,161 is below.
        Assert.Equal(95.0m, SlaCredits.Availability(43_200 - 2_160, 43_200));
        Assert.Equal(25, SlaCredits.BandOf(SlaCredits.Availability(43_200 - 2_160, 43_200)).CreditPercent);
        Assert.Equal(50, SlaCredits.BandOf(SlaCredits.Availability(43_200 - 2_161, 43_200)).CreditPercent);
    }

    [Fact]
    public void A_month_that_was_all_maintenance_is_fully_available()
    {
        Assert.Equal(100m, SlaCredits.Availability(0, 0));
    }

    [Theory]
    [InlineData("250", 0, "0")]
    [InlineData("250", 10, "25.00")]
    [InlineData("250", 25, "62.50")]
    [InlineData("250", 50, "125.00")]
    [InlineData("0.05", 10, "0.01")] // 0.005 rounds half away from zero
    [InlineData("0", 50, "0")]
    public void The_credit_is_the_band_share_of_the_bill_in_cents(string bill, int percent, string credit)
    {
        var band = SlaCredits.Bands.Single(b => b.CreditPercent == percent);
        Assert.Equal(decimal.Parse(credit, System.Globalization.CultureInfo.InvariantCulture),
            SlaCredits.Credit(decimal.Parse(bill, System.Globalization.CultureInfo.InvariantCulture), band));
    }

    [Fact]
    public void Bands_read_as_in_a_contract()
    {
        Assert.Equal(["at least 99.95%", "less than 99.95% but at least 99.0%", "less than 99.0% but at least 95.0%", "less than 95.0%"],
            SlaCredits.Bands.Select(b => b.Describe()));
    }
}
