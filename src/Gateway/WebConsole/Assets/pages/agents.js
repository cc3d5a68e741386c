// Agents: the fleet (an operator) or the tenant's own agents and those that can run its jobs (a tenant), and one
// agent's live figures with the actions the API offers the key: drain and deregister (its owner or an operator),
// quarantine, release and restart (an operator).
import { ApiError, call, change } from '../api.js';
import { announce, navigate } from '../app.js';
import { badge, errorBox, facts, field, h, pageHeading, replace, section, table, time } from '../dom.js';

const PageSize = 200;

export async function render(main, context) {
  if (context.id) {
    await renderAgent(main, context);
  } else {
    await renderList(main, context);
  }
}

async function renderList(main, { who, query, signal }) {
  const owner = query.get('owner') ?? '';
  const api = new URLSearchParams({ limit: String(PageSize) });
  if (owner && who.role === 'operator') api.set('owner', owner);
  if (query.get('cursor')) api.set('cursor', query.get('cursor'));
  const page = await call('/v1/agents?' + api, { signal });

  let form = null;
  if (who.role === 'operator') {
    const input = h('input', { value: owner, placeholder: 'tenant id or platform' });
    form = h('form', { class: 'filters', id: 'agent-filters', 'aria-label': 'Filter agents' },
      field('filter-owner', 'Owner', input), h('button', { type: 'submit' }, 'Apply filter'));
    form.addEventListener('submit', event => {
      event.preventDefault();
      navigate(input.value.trim() ? '#/agents?owner=' + encodeURIComponent(input.value.trim()) : '#/agents');
    });
  }

  const counts = {};
  for (const agent of page.agents) counts[agent.state] = (counts[agent.state] ?? 0) + 1;
  const rows = page.agents.map(a => [
    h('a', { href: '#/agents/' + encodeURIComponent(a.agentId) }, a.agentId),
    a.owner, a.pool, badge(a.state), a.capabilities.join(', '), time(a.stateChangedAt),
  ]);
  const next = page.nextCursor
    ? h('p', {}, h('a', { href: `#/agents?${new URLSearchParams({ ...(owner ? { owner } : {}), cursor: page.nextCursor })}` }, 'Next page'))
    : null;
  replace(main, pageHeading('Agents'), form,
    h('p', { class: 'muted' }, Object.entries(counts).map(([state, n]) => `${n} ${state}`).join(' · ') || 'No agents.'),
    section('agents-list', 'Agents in id order',
      table(`Agents (${PageSize} per page)`, ['Agent', 'Owner', 'Pool', 'State', 'Capabilities', 'State since'], rows, { id: 'agents-table', empty: 'No agents visible to this key.' }),
      next));
}

async function renderAgent(main, { id, who, signal }) {
  let agent;
  try {
    agent = await call('/v1/agents/' + encodeURIComponent(id), { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace(main, pageHeading('Agent not found'), h('p', { 'data-state': 'not-found' }, 'No agent ', h('code', {}, id), ' is visible to this key.'),
        h('p', {}, h('a', { href: '#/agents' }, 'Back to agents')));
      return;
    }

    throw error;
  }

  const details = h('div', { id: 'agent-details' });
  const actions = h('div', { id: 'agent-actions' });
  const show = current => {
    replace(details, facts([
      ['State', badge(current.state)],
      ['Why', current.stateReason],
      ['Owner', current.owner],
      ['Pool', current.pool],
      ['Version', current.version],
      ['Region', current.region],
      ['Capabilities', current.capabilities.join(', ')],
      ['Certifications', (current.certifications ?? []).join(', ') || 'none'],
      ['Max concurrency', current.maxConcurrency?.toString()],
      ['In flight', current.inFlight?.toString()],
      ['Load', current.load === null || current.load === undefined ? null : current.load.toFixed(2)],
      ['Connected', current.connected === null || current.connected === undefined ? null : current.connected ? 'yes' : 'no'],
      ['Quarantined', current.quarantined ? 'yes' : 'no'],
      ['Probation until', time(current.probationUntil)],
      ['Cost per hour', current.costPerHour?.toString()],
      ['Registered', time(current.registeredAt)],
      ['Last heartbeat', time(current.lastHeartbeatAt)],
      ['State since', time(current.stateChangedAt)],
    ], 'Agent details'));
    replace(actions, agentActions(current, who, show));
  };
  show(agent);
  replace(main, h('p', {}, h('a', { href: '#/agents' }, '← Agents')), pageHeading(`Agent ${agent.agentId}`), actions, section('agent-facts', 'Details', details),
    who.role === 'operator' ? section('agent-routing', 'What routing learned', await learned(agent, signal)) : null);
}

/** The pool's learned statistics for this agent (operators): success rate, latency, cost per job and its concurrency limit per capability. */
async function learned(agent, signal) {
  let view;
  try {
    view = await call(`/v1/routing/pools/${encodeURIComponent(agent.pool)}?agentId=${encodeURIComponent(agent.agentId)}`, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return h('p', { class: 'muted', 'data-state': 'nothing-learned' }, 'Nothing learned yet: the agent has no finished attempts.');
    throw error;
  }

  const number = (value, digits) => (value === null || value === undefined ? '—' : Number(value).toFixed(digits));
  const rows = view.agents.map(a => [
    a.stats.capability, a.stats.version ?? '—', number(a.successRate, 3), number(a.stats.latencyMs, 1), number(a.tailLatencyMs, 1),
    number(a.stats.costPerJob, 6), String(a.stats.attempts), a.concurrencyLimit === null ? '—' : `${a.concurrencyLimit} of ${a.advertisedConcurrency}`,
  ]);
  return [
    h('p', { class: 'muted' }, `Pool policy ${view.policy}; counts fade with time. Limit: the adaptive concurrency on this gateway.`),
    table('Learned statistics per capability', ['Capability', 'Version', 'Success rate', 'Latency (ms)', 'Tail (ms)', 'Cost per job', 'Attempts', 'Limit'], rows,
      { id: 'agent-routing-table', empty: 'Nothing learned yet.' }),
  ];
}

function agentActions(agent, who, show) {
  const message = h('div', { 'aria-live': 'polite' });
  const reason = h('input', { maxlength: 500 });
  const probation = h('input', { type: 'number', min: 0, max: 43200, step: 1, value: '' });
  const act = (label, path, method, body, danger) => h('button', {
    type: 'button', class: danger ? 'danger' : undefined,
    onclick: async event => {
      event.currentTarget.disabled = true;
      try {
        const result = await change(`/v1/agents/${encodeURIComponent(agent.agentId)}${path}`, method, body());
        const current = result?.agentId && result.state ? result : await call('/v1/agents/' + encodeURIComponent(agent.agentId));
        show(current);
        announce(`${label}: agent ${agent.agentId} is ${current.state}.`);
      } catch (error) {
        event.target.disabled = false;
        replace(message, errorBox(error));
      }
    },
  }, label);
  const withReason = () => (reason.value.trim() ? { reason: reason.value.trim() } : {});
  const buttons = [];
  const mine = who.role === 'operator' || agent.owner === who.tenantId;
  if (mine && agent.state !== 'Offline' && agent.state !== 'Draining') buttons.push(act('Drain', '/drain', 'POST', withReason));
  if (who.role === 'operator') {
    if (agent.quarantined) {
      buttons.push(act('Release from quarantine', '/release', 'POST', withReason));
    } else {
      buttons.push(act('Quarantine', '/quarantine', 'POST', () => ({ ...withReason(), ...(probation.value ? { probationMinutes: Number(probation.value) } : {}) }), true));
    }

    buttons.push(act('Restart', '/restart', 'POST', withReason));
  }

  if (mine && agent.state !== 'Offline') buttons.push(act('Deregister', '', 'DELETE', () => undefined, true));
  if (buttons.length === 0) {
    return h('p', { class: 'muted' }, mine ? 'No action applies in this state.' : 'This agent belongs to another owner: read-only for this key.');
  }

  return h('div', { class: 'panel', role: 'group', 'aria-labelledby': 'agent-actions-title' },
    h('h2', { id: 'agent-actions-title' }, 'Actions'),
    h('div', { class: 'actions' },
      field('agent-reason', 'Reason (optional)', reason),
      who.role === 'operator' && !agent.quarantined ? field('agent-probation', 'Quarantine probation (minutes, 0 = until released)', probation) : null,
      buttons),
    message);
}
