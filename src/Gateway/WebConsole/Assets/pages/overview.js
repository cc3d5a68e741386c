// The executive overview: KPI tiles from the KPI endpoints where this server has them (a clear "not available" state
// where it answers 404), and the live figures every gateway has today: /status, incidents, cost, compliance.
import { call, optional } from '../api.js';
import { duration, errorBox, h, notAvailable, pageHeading, percent, replace, section, tile, tiles } from '../dom.js';
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
    section('kpis', 'Key performance indicators', outcome(kpis, data => kpiTiles(data, 'KPIs'), () => notAvailable('KPIs', 'GET ' + kpiPath))),
    section('slo', 'SLO adherence and error budget', outcome(slo, data => kpiTiles(data, 'SLOs'), () => notAvailable('SLOs and error budgets', 'GET /v1/slo'))),
  ];
  if (slaPath) {
    content.push(section('sla', `SLA credit forecast (${month})`, outcome(sla, data => kpiTiles(data, 'SLA'), () => notAvailable('SLA reports', 'GET ' + slaPath))));
  }

  if (operator) {
    const chart = lineChart('jobs-chart', `Jobs by status, from /status every ${StatusSampleMs / 1000} s while this page is open`, JobStates);
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
    chart.update(x, values);
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
    const unit = entry.unit ? ' ' + entry.unit : '';
    const met = entry.meetsTarget ?? entry.met ?? entry.ok ?? null;
    const target = entry.target ?? entry.objective;
    const shown = value === null || typeof value === 'object' ? '—' : typeof value === 'number' ? `${+value.toFixed(4)}${unit}` : `${value}${unit}`;
    const note = entry.note ?? entry.reason ?? entry.unavailableReason ?? (value === null ? entry.source ?? 'no value: its source is not built yet' : undefined);
    return tile('kpi-' + name, text, shown, {
      target: target === undefined || target === null ? undefined : typeof target === 'object' ? JSON.stringify(target) : `${target}${unit}`,
      note: typeof note === 'string' ? note : undefined,
      state: value === null ? 'unknown' : met === true ? 'ok' : met === false ? 'miss' : undefined,
    });
  });
  return items.length ? tiles(label, items) : h('p', { class: 'empty' }, 'The server returned no entries.');
}
