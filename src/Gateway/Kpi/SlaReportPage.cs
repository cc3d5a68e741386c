using System.Globalization;
using System.Net;
using System.Text;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Gateway.Kpi;

/// <summary>
/// The printable SLA report: one self-contained HTML page (inline CSS, no script, no external request), headings and a
/// table a screen reader can walk, laid out for A4 print.
/// </summary>
public static class SlaReportPage
{
    public static string Render(SlaReport r)
    {
        var html = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);
        string T(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", inv);
        string Money(decimal? amount) => amount is { } a ? $"{a.ToString("0.00", inv)} {E(r.Currency)}" : "—";

        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.Append(inv, $"<title>SLA report {E(r.TenantId)} {E(r.Month)}</title>");
        html.Append("<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#111}table{border-collapse:collapse;margin:1rem 0}")
            .Append("th,td{border:1px solid #999;padding:.3rem .6rem;text-align:left}th{background:#eee}.met{color:#064}.missed{color:#a00}")
            .Append("@page{size:A4;margin:15mm}@media print{body{margin:0}}</style></head><body>");
        html.Append(inv, $"<h1>SLA report — tenant {E(r.TenantId)}, {E(r.Month)}</h1>");
        html.Append(inv, $"<p>{(r.Final ? "Final" : "Month in progress")}: {T(r.From)} to {T(r.To)}. Generated {T(r.GeneratedAt)}.</p>");
        var met = r.AvailabilityPercent >= r.TargetPercent;
        html.Append("<h2>Availability</h2><table><tbody>");
        Row(html, "Monthly availability", $"<span class=\"{(met ? "met" : "missed")}\">{r.AvailabilityPercent.ToString("0.0000", inv)}%</span> (target {r.TargetPercent.ToString(inv)}%)");
        Row(html, "Minutes in the period", r.TotalMinutes.ToString("N0", inv));
        Row(html, "Excluded (maintenance)", r.ExcludedMinutes.ToString("N0", inv));
        Row(html, "Valid minutes", r.ValidMinutes.ToString("N0", inv));
        Row(html, "Bad minutes", r.BadMinutes.ToString("N0", inv));
        Row(html, "Good minutes", r.GoodMinutes.ToString("N0", inv));
        html.Append("</tbody></table>");
        html.Append("<h2>Credit</h2><table><tbody>");
        Row(html, "Band", $"{E(r.Band.Describe())}: {r.Band.CreditPercent.ToString(inv)}% credit");
        Row(html, "Bill", r.Bill is null ? "none (no cost recorded and no monthly fee configured)" : $"{Money(r.Bill)} ({E(r.BillSource)})");
        Row(html, "Credit", Money(r.Credit));
        html.Append("</tbody></table>");
        html.Append("<h2>Credit bands</h2><table><thead><tr><th scope=\"col\">Monthly availability</th><th scope=\"col\">Credit</th></tr></thead><tbody>");
        foreach (var band in r.Bands)
        {
            html.Append(inv, $"<tr{(band == r.Band ? " aria-current=\"true\" style=\"font-weight:bold\"" : string.Empty)}><td>{E(band.Describe())}</td><td>{band.CreditPercent}%</td></tr>");
        }

        html.Append("</tbody></table><h2>Maintenance windows</h2>");
        if (r.MaintenanceWindows.IsDefaultOrEmpty)
        {
            html.Append("<p>None.</p>");
        }
        else
        {
            html.Append("<table><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Start</th><th scope=\"col\">End</th><th scope=\"col\">Title</th></tr></thead><tbody>");
            foreach (var w in r.MaintenanceWindows)
            {
                html.Append(inv, $"<tr><td>{w.Kind}</td><td>{T(w.Start)}</td><td>{T(w.End)}</td><td>{E(w.Title)}</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("<p>A minute is bad when more than the configured share of the tenant's API requests were answered 5xx or UNAVAILABLE, ")
            .Append("when a gateway serving it failed its readiness probe, or when no gateway answered at all. Minutes in maintenance windows are excluded.</p>");
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void Row(StringBuilder html, string name, string value) =>
        html.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{name}</th><td>{value}</td></tr>");
}
