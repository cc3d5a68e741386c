using MeshOs.Abstractions;
using MeshOs.Abstractions.Kpi;
using MeshOs.Gateway.Kpi;
using MeshOs.Grains.Kpi;

namespace MeshOs.Tests.Unit.Kpi;

/// <summary>The month of an SLA report and its printable page.</summary>
public sealed class SlaReportTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 8, 3, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("2026-12", 2026, 12)]
    [InlineData("2026-02", 2026, 2)]
    public void A_month_is_yyyy_MM_up_to_the_current_one(string month, int year, int number)
    {
        Assert.Equal(new DateTimeOffset(year, number, 1, 0, 0, 0, TimeSpan.Zero), KpiService.ParseMonth(month, Now));
    }

    [Theory]
    [InlineData("2026-13", "month: a calendar month as yyyy-MM")]
    [InlineData("2026-1", "month: a calendar month as yyyy-MM")]
    [InlineData("december", "month: a calendar month as yyyy-MM")]
    [InlineData("2027-01", "month: 2027-01 has not started yet.")]
    public void A_bad_or_future_month_is_refused_naming_the_field(string month, string message)
    {
        var ex = Assert.Throws<MeshException>(() => KpiService.ParseMonth(month, Now));
        Assert.Equal(MeshErrorCode.InvalidArgument, ex.Code);
        Assert.StartsWith(message, ex.Message);
    }

    [Fact]
    public void The_printable_page_is_self_contained_and_says_the_band_and_the_credit()
    {
        var from = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var band = SlaCredits.BandOf(99.5m);
        var report = new SlaReport("acme", "2026-11", from, from.AddMonths(1), true, 43_200, 240, 42_960, 215, 42_745, 99.4995m, 99.95m, band,
            SlaCredits.Bands, 250m, "cost", "USD", 25m, new MaintenanceCalendar(new MaintenanceOptions()).Recurring(from, from.AddMonths(1)), from.AddMonths(1));

        var html = SlaReportPage.Render(report);

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<h1>SLA report — tenant acme, 2026-11</h1>", html);
        Assert.Contains("99.4995%", html);
        Assert.Contains("less than 99.95% but at least 99.0%: 10% credit", html);
        Assert.Contains("25.00 USD", html);
        Assert.Contains("2026-11-15 02:00 UTC", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http", html);
        Assert.DoesNotContain("<link", html);
    }

    [Fact]
    public void Text_from_tenants_is_encoded()
    {
        var from = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var window = new MaintenanceWindow("mw-1", MaintenanceKind.Emergency, from, from.AddHours(1), "<b>db</b>", null, "op", from, from);
        var report = new SlaReport("acme", "2026-11", from, from.AddMonths(1), true, 1, 0, 1, 0, 1, 100m, 99.95m, SlaCredits.Bands[0], SlaCredits.Bands,
            null, null, null, null, [window], from);

        var html = SlaReportPage.Render(report);

        Assert.Contains("&lt;b&gt;db&lt;/b&gt;", html);
        Assert.Contains("none (no cost recorded and no monthly fee configured)", html);
    }
}
