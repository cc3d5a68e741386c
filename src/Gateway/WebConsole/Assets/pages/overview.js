// The executive overview: KPI tiles from the KPI endpoints where this server has them (a clear "not available" state
// where it answers 404), and the live figures every gateway has today: /status, incidents, cost, compliance.
import { call, optional } from '../api.js';
import { duration, errorBox, h, notAvailable, pageHeading, percent, replace, section, tile, tiles, time } from '../dom.js';
import { lineChart } from '../chart.js';

const StatusSampleMs = 5000;
const JobStates = ['Pending', 'Leased', 'Running', 'Succeeded', 'Failed', 'Cancelled', 'TimedOut', 'DeadLettered'];
const AgentStates = ['Healthy', 'Degraded', 'Unresponsive', 'Quarantined', 'Draining', 'Offline'];

export async function render(main, { who, signal }) {
  const operator = who.role === 'operator';
  const kpiPath = operator ? '/v1/kpis' : `/v1/tenants/${encodeURIComponent(who.tenantId)}/kpis`;
  const month = new Date().toISOString().slice(0, 7);
  const slaPath = operator ? null : `/v1/sla/reports/${encodeURIComponent(who.tenantId)}/${month}`;

  const [kpis, slo, sla, now, figures] = await Promise.all([
    settle(optional(kpiPath, { signal })),
    settle(optional('/v1/slo', { signal })),
    slaPath ? settle(optional(slaPath, { signal })) : Promise.resolve(null),
    operator ? settle(call('/status', { signal })) : settle(call('/v1/jobs?limit=500', { signal })),
    settle(todaysFigures(operator, signal)),
  ]);

  const content = [
    pageHeading(operator ? 'Executive overview' : `Overview of tenant ${who.tenantId}`),
    section('kpis', 'Key performance indicators', outcome(kpis, kpiReport, () => notAvailable('KPIs', 'GET ' + kpiPath))),
    section('slo', 'SLO adherence and error budget', outcome(slo, sloTiles, () => notAvailable('SLOs and error budgets', 'GET /v1/slo'))),
  ];
  if (slaPath) {
    content.push(section('sla', `SLA credit forecast (${month})`, outcome(sla, slaTiles, () => notAvailable('SLA reports', 'GET ' + slaPath))));
  }

  if (kpis.value) {
    content.push(section('sli-trend', 'Requests and errors over time', seriesChart(operator ? null : who.tenantId, signal)));
  }

  if (operator) {
    const chart = lineChart('jobs-chart', `Jobs by status, from /status every ${StatusSampleMs / 1000} s while this page is open (drawn from the second sample on)`, JobStates);
    content.push(section('now', 'Now', outcome(now, statusTiles)), section('trend', 'Jobs since this page opened', chart.element));
    content.push(section('today', 'Incidents, cost and compliance', outcome(figures, data => data)));
    replace(main, ...content);
    sampleStatus(now.value, chart, signal);
  } else {
    content.push(section('now', 'Your jobs', outcome(now, tenantJobTiles)));
    content.push(section('today', 'Cost and compliance', outcome(figures, data => data)));
    replace(main, ...content);
  }
}

/** A promise's outcome as { value } or { error }, so that one failing call leaves the rest of the page standing. */
async function settle(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return { error };
  }
}

function outcome(result, show, missing) {
  if (result.error?.status === 403) {
    return h('div', { class: 'not-available', 'data-state': 'forbidden', role: 'note' }, 'This key may not read it: ', result.error.message);
  }

  if (result.error) return errorBox(result.error);
  if (result.value === null && missing) return missing();
  return show(result.value);
}

function statusTiles(status) {
  const jobs = status.jobs ?? {};
  const agents = status.agents ?? {};
  return [
    h('h3', {}, 'Jobs'),
    tiles('Jobs by status', tile('jobs-total', 'Jobs (all)', jobs.total ?? 0), JobStates.map(s => tile('jobs-' + s, s, jobs[s] ?? 0))),
    h('h3', {}, 'Agents'),
    tiles('Agents by state', tile('agents-total', 'Agents (all)', agents.total ?? 0), AgentStates.map(s => tile('agents-' + s, s, agents[s] ?? 0))),
    h('p', { class: 'muted' }, `${status.service} ${status.version} · ${status.role} · storage ${status.storage} · `,
      `${status.cluster?.activeSilos ?? 0} active silo(s) · up ${duration(status.uptimeSeconds)}`),
    (status.errors ?? []).length ? errorBox('Status incomplete: ' + status.errors.join('; ')) : null,
  ];
}

function tenantJobTiles(page) {
  const counts = Object.fromEntries(JobStates.map(s => [s, 0]));
  for (const job of page.jobs) counts[job.status] = (counts[job.status] ?? 0) + 1;
  return [
    tiles('Your latest jobs by status', tile('jobs-total', 'Latest jobs', page.jobs.length, { note: page.nextCursor ? 'the newest 500' : 'all of them' }),
      JobStates.map(s => tile('jobs-' + s, s, counts[s]))),
  ];
}

/** Incident figures (operator), cost per agent and the compliance score: what exists before the KPI service. */
async function todaysFigures(operator, signal) {
  const [report, open, cost, compliance] = await Promise.all([
    operator ? settle(call('/v1/incidents/report', { signal })) : null,
    operator ? settle(call('/v1/incidents?open=true&limit=500', { signal })) : null,
    settle(optional('/v1/cost/kpi', { signal })),
    settle(optional('/v1/compliance/score', { signal })),
  ]);
  const items = [];
  if (open) {
    items.push(open.error ? null : tile('incidents-open', 'Open incidents', open.value.incidents.length + (open.value.nextCursor ? '+' : '')));
  }

  if (report && !report.error) {
    const all = report.value.all;
    items.push(
      tile('mttr', 'MTTR (30 days)', duration(all.mttrSeconds), { target: '15 min', state: all.mttrSeconds === null ? 'unknown' : all.mttrSeconds <= 900 ? 'ok' : 'miss', note: `${all.resolved} resolved` }),
      tile('mtta', 'MTTA (30 days)', duration(all.mttaSeconds)),
      tile('automation-rate', 'Automation rate (30 days)', all.resolved ? percent(all.automationRate * 100, 1) : '—',
        { target: '80 %', state: all.resolved ? (all.automationRate >= 0.8 ? 'ok' : 'miss') : 'unknown', note: `${all.resolvedAutomatically} of ${all.resolved} without a human` }));
  }

  if (cost && !cost.error && cost.value) {
    const k = cost.value;
    items.push(tile('cost-per-agent', 'Cost per agent-month', k.costPerAgentMonth === null ? '—' : `${k.costPerAgentMonth.toFixed(2)} ${k.currency}`,
      { target: `${k.target} ${k.currency}`, state: k.meetsTarget === null ? 'unknown' : k.meetsTarget ? 'ok' : 'miss', note: `${k.cost.toFixed(4)} ${k.currency} this month, ${k.agentHours.toFixed(1)} agent-hours` }));
  }

  if (compliance && !compliance.error && compliance.value) {
    const s = compliance.value.score;
    items.push(tile('compliance-score', 'Compliance score', percent(s.percent, 1), { target: '95 %', state: s.meetsTarget ? 'ok' : 'miss', note: `${s.passed} passed, ${s.failed} failed` }));
  }

  const errors = [report, open, cost, compliance].filter(r => r?.error).map(r => errorBox(r.error));
  return [tiles('Incidents, cost and compliance', items), errors];
}

/** Samples /status into the chart until the page is left. */
function sampleStatus(first, chart, signal) {
  const x = [];
  const values = JobStates.map(() => []);
  const add = status => {
    x.push(Date.now() / 1000);
    JobStates.forEach((s, i) => values[i].push(status?.jobs?.[s] ?? null));
    // One point makes no line (and no sensible time axis): the chart appears with the second sample.
    if (x.length >= 2) chart.update(x, values);
  };
  if (first) add(first);
  const timer = setInterval(async () => {
    try { add(await call('/status', { signal })); } catch { /* the next sample tries again */ }
  }, StatusSampleMs);
  signal.addEventListener('abort', () => clearInterval(timer));
}

/**
 * Tiles for whatever the KPI, SLO and SLA endpoints answer. Their shapes belong to the KPI service (issue 16, built
 * beside this console), so this reads the common forms: a list, or { kpis | slos | items: [...] }, or an object of
 * named entries; each entry's name, value, target, unit and whether it meets the target. An entry without a value
 * says why (its source is not built yet) instead of showing a number.
 */
function kpiTiles(data, label) {
  const entries = Array.isArray(data) ? data
    : data.kpis ?? data.slos ?? data.items ?? data.indicators ?? Object.entries(data).map(([name, value]) =>
      value !== null && typeof value === 'object' && !Array.isArray(value) ? { name, ...value } : { name, value });
  const items = entries.map((entry, i) => {
    const name = String(entry.id ?? entry.name ?? entry.kpi ?? entry.key ?? i);
    const text = entry.title ?? entry.label ?? entry.displayName ?? entry.name ?? name;
    const value = entry.value ?? entry.current ?? entry.actual ?? null;
    const met = entry.meetsTarget ?? entry.met ?? entry.ok ?? null;
    const target = entry.target ?? entry.objective;
    const shown = value === null || typeof value === 'object' ? '—' : withUnit(value, entry.unit);
    const note = entry.missingReason ?? entry.note ?? entry.reason ?? (value === null ? 'no value: its source has nothing to say yet' : entry.source ? `from ${entry.source}` : undefined);
    return tile('kpi-' + name, KpiLabels[name] ?? text, shown, {
      target: target === undefined || target === null ? undefined : typeof target === 'object' ? JSON.stringify(target) : withUnit(target, entry.unit),
      note: typeof note === 'string' ? note : undefined,
      state: value === null ? 'unknown' : met === true ? 'ok' : met === false ? 'miss' : undefined,
    });
  });
  return items.length ? tiles(label, items) : h('p', { class: 'empty' }, 'The server returned no entries.');
}

/** Readable names of the KPI service's KPIs (KPIS.md). */
const KpiLabels = {
  availability: 'Availability',
  submitLatencyP95: 'Submit latency P95',
  submitLatencyP99: 'Submit latency P99',
  endToEndLatencyP95: 'End-to-end latency P95',
  endToEndLatencyP99: 'End-to-end latency P99',
  errorRate: 'Error rate',
  sloAdherence: 'SLO adherence',
  errorBudgetRemaining: 'Error budget remaining',
  mttr: 'MTTR',
  automationRate: 'Automation rate',
  complianceScore: 'Compliance score',
  costPerAgent: 'Cost per agent',
};

/** A KPI figure in its unit: percent, ms, minutes, ratio (shown as a percentage) or a currency code. */
function withUnit(value, unit) {
  if (typeof value !== 'number') return unit ? `${value} ${unit}` : String(value);
  switch (unit) {
    case 'percent': return `${+value.toFixed(3)} %`;
    case 'ratio': return `${+(value * 100).toFixed(3)} %`;
    case 'ms': return `${+value.toFixed(1)} ms`;
    case 'minutes': return `${+value.toFixed(1)} min`;
    case undefined: case null: case '': return `${+value.toFixed(4)}`;
    default: return `${+value.toFixed(2)} ${unit}`;
  }
}

/** The KPI service's report: { scope, from, to, kpis: [...], slo }. */
function kpiReport(report) {
  if (!Array.isArray(report?.kpis)) return kpiTiles(report, 'KPIs');
  return [h('p', { class: 'muted' }, `Scope ${report.scope}, `, time(report.from), ' to ', time(report.to)), kpiTiles(report.kpis, 'KPIs')];
}

/** SLO status: adherence, error budget, burn rates (GET /v1/slo). */
function sloTiles(slo) {
  if (slo?.windows === undefined) return kpiTiles(slo, 'SLOs');
  const burn = slo.burn;
  return [
    tiles('SLOs',
      tile('slo-adherence', 'SLO adherence', slo.adherence === null ? '—' : withUnit(slo.adherence, 'percent'),
        { note: `${slo.windowsMet} of ${slo.windows} five-minute windows met every SLO`, state: slo.adherence === null ? 'unknown' : undefined }),
      tile('error-budget', 'Error budget remaining', slo.budgetRemaining === null ? '—' : withUnit(slo.budgetRemaining, 'ratio'), {
        note: `${slo.badMinutes} bad of ${+Number(slo.allowedBadMinutes).toFixed(1)} allowed minutes (${slo.validMinutes} valid)`,
        state: slo.budgetRemaining === null ? 'unknown' : slo.budgetRemaining >= 0 ? 'ok' : 'miss',
      }),
      tile('burn-5m', 'Burn rate (5 min)', burn?.fiveMinutes ?? '—', { state: burn?.fastBurn ? 'miss' : undefined, note: burn?.fastBurn ? 'fast burn' : undefined }),
      tile('burn-1h', 'Burn rate (1 h)', burn?.oneHour ?? '—'),
      tile('availability-target', 'Availability target', withUnit(slo.availabilityTarget, 'percent'),
        { note: `submit P95 ≤ ${slo.submitP95TargetMs} ms, P99 ≤ ${slo.submitP99TargetMs} ms, errors < ${withUnit(slo.errorRateTarget, 'ratio')}` })),
    h('p', { class: 'muted' }, `Scope ${slo.scope}, `, time(slo.from), ' to ', time(slo.to)),
  ];
}

/** A tenant's SLA report for the month: availability, band, bill and credit (GET /v1/sla/reports/{tenant}/{yyyy-MM}). */
export function slaTiles(report) {
  if (report?.availabilityPercent === undefined) return kpiTiles(report, 'SLA');
  const band = report.band ?? {};
  const money = value => (value === null || value === undefined ? '—' : `${+Number(value).toFixed(2)} ${report.currency ?? ''}`.trim());
  return [
    tiles('SLA',
      tile('sla-availability', 'Monthly availability', withUnit(report.availabilityPercent, 'percent'),
        { target: withUnit(report.targetPercent, 'percent'), state: report.availabilityPercent >= report.targetPercent ? 'ok' : 'miss', note: `${report.badMinutes} bad of ${report.validMinutes} valid minutes, ${report.excludedMinutes} in maintenance` }),
      tile('sla-credit-band', 'Credit band', `${band.creditPercent ?? 0} %`, { note: describeBand(band) }),
      tile('sla-credit', report.final ? 'Credit' : 'Credit so far', money(report.credit), { note: `on a bill of ${money(report.bill)}${report.billSource ? ` (${report.billSource})` : ''}` })),
    h('p', { class: 'muted' }, report.final ? 'The month is over: final.' : 'The month is running: a forecast from the minutes so far.'),
  ];
}

function describeBand(band) {
  const low = band.atLeast;
  const high = band.lessThan;
  if (low !== null && low !== undefined && (high === null || high === undefined)) return `at least ${low} %`;
  if ((low === null || low === undefined) && high !== null && high !== undefined) return `less than ${high} %`;
  if (low !== null && low !== undefined) return `less than ${high} % but at least ${low} %`;
  return 'any';
}

/** Requests and errors from the SLI rollups (GET /v1/kpis/series) over 24 hours, 30 days or 13 months. */
function seriesChart(tenantId, signal) {
  const ranges = [['24h', '24 hours', '1h', 24 * 3600], ['30d', '30 days', '1d', 30 * 86400], ['13mo', '13 months', '1d', 396 * 86400]];
  const chart = lineChart('sli-chart', 'Requests and errors per rollup row (SLI rollups)', ['Requests', 'Errors']);
  const message = h('p', { class: 'muted', 'aria-live': 'polite' });
  const load = async ([, label, resolution, seconds]) => {
    const query = new URLSearchParams({ resolution, from: new Date(Date.now() - seconds * 1000).toISOString() });
    if (tenantId) query.set('tenant', tenantId);
    try {
      const rows = await optional('/v1/kpis/series?' + query, { signal });
      if (rows === null) {
        replace(message, 'GET /v1/kpis/series answered 404: no series on this server.');
        return;
      }

      chart.update(rows.map(r => Date.parse(r.at) / 1000), [rows.map(r => r.requests), rows.map(r => r.errors)]);
      replace(message, `${rows.length} rows at ${resolution} over the last ${label}.`);
    } catch (error) {
      if (error.name !== 'AbortError') replace(message, errorBox(error));
    }
  };
  const buttons = ranges.map(range => h('button', { type: 'button', class: 'secondary', onclick: () => load(range) }, range[1]));
  load(ranges[0]);
  return [h('div', { class: 'actions', role: 'group', 'aria-label': 'Period' }, buttons), chart.element, message];
}
