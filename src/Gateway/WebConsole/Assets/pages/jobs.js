// Jobs: the tenant's list with the filters GET /v1/jobs has (status, type, creation time) and cursor paging; a job's
// detail with its attempts, its changes as they happen (server-sent events), its audit trail and the cancel action.
// Operator keys cannot list jobs (GET /v1/jobs is a tenant call), so an operator gets recent submissions from the
// audit log, filtered by tenant and time, and can open any job by id (each read audited as jobs.read).
import { ApiError, call, change, optional, stream } from '../api.js';
import { announce, navigate } from '../app.js';
import { badge, errorBox, facts, field, h, json, pageHeading, replace, section, select, table, time } from '../dom.js';

export const JobStates = ['Pending', 'Leased', 'Running', 'Succeeded', 'Failed', 'Cancelled', 'TimedOut', 'DeadLettered'];
const Finished = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut', 'DeadLettered']);
const PageSize = 50;

export async function render(main, context) {
  if (context.id) {
    await renderJob(main, context);
  } else if (context.who.role === 'tenant') {
    await renderTenantList(main, context);
  } else {
    await renderOperatorList(main, context);
  }
}

/** The datetime-local value (reader's local time) as RFC 3339, or null. */
function instant(local) {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function queryHash(base, form) {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (String(value).trim()) query.set(name, String(value).trim());
  }

  const text = query.toString();
  return text ? `${base}?${text}` : base;
}

function openById() {
  const input = h('input', { placeholder: '01a25380-…', size: 40, required: true });
  const form = h('form', { class: 'filters', id: 'open-job' },
    field('job-id', 'Job id', input),
    h('button', { type: 'submit' }, 'Open job'));
  form.addEventListener('submit', event => {
    event.preventDefault();
    navigate('#/jobs/' + encodeURIComponent(input.value.trim()));
  });
  return form;
}

async function renderTenantList(main, { query, signal }) {
  const filters = {
    status: query.get('status') ?? '',
    type: query.get('type') ?? '',
    createdFrom: query.get('createdFrom') ?? '',
    createdTo: query.get('createdTo') ?? '',
  };
  const form = h('form', { class: 'filters', id: 'job-filters', 'aria-label': 'Filter jobs' },
    field('filter-status', 'Status', select([['', 'Any status'], ...JobStates.map(s => [s, s])], filters.status)),
    field('filter-type', 'Type', h('input', { value: filters.type, placeholder: 'e.g. summarize' })),
    field('filter-from', 'Created from', h('input', { type: 'datetime-local', value: filters.createdFrom, step: 1 })),
    field('filter-to', 'Created to', h('input', { type: 'datetime-local', value: filters.createdTo, step: 1 })),
    h('button', { type: 'submit' }, 'Apply filters'),
    h('button', { type: 'button', class: 'secondary', onclick: () => navigate('#/jobs') }, 'Clear'));
  // The form's fields carry the query names the hash keeps.
  form.elements['filter-status'].name = 'status';
  form.elements['filter-type'].name = 'type';
  form.elements['filter-from'].name = 'createdFrom';
  form.elements['filter-to'].name = 'createdTo';
  form.addEventListener('submit', event => {
    event.preventDefault();
    navigate(queryHash('#/jobs', form));
  });

  const api = new URLSearchParams({ limit: String(PageSize) });
  if (filters.status) api.set('status', filters.status);
  if (filters.type) api.set('type', filters.type);
  if (instant(filters.createdFrom)) api.set('createdFrom', instant(filters.createdFrom));
  if (instant(filters.createdTo)) api.set('createdTo', instant(filters.createdTo));

  const results = h('div', { id: 'jobs-results' });
  replace(main, pageHeading('Jobs'), form, openById(), section('jobs-list', 'Jobs, newest first', results));
  await loadPage(results, api, null, signal);
}

async function loadPage(results, api, cursor, signal) {
  const query = new URLSearchParams(api);
  if (cursor) query.set('cursor', cursor);
  let page;
  try {
    page = await call('/v1/jobs?' + query, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      results.append(errorBox(error));
      return;
    }

    throw error;
  }

  const rows = page.jobs.map(job => [
    h('a', { href: '#/jobs/' + job.id, class: 'mono' }, job.id),
    job.type, badge(job.status), String(job.priority), `${job.attempts} / ${job.maxAttempts}`,
    job.agentId ?? '—', time(job.createdAt),
  ]);
  const existing = results.querySelector('tbody');
  if (existing && rows.length) {
    existing.append(...rows.map(cells => h('tr', {}, cells.map(cell => h('td', {}, cell)))));
  } else if (!existing) {
    results.append(table(`Jobs matching the filters (${PageSize} per page)`, ['Job', 'Type', 'Status', 'Priority', 'Attempts', 'Agent', 'Created'], rows,
      { id: 'jobs-table', empty: 'No job matches these filters.' }));
  }

  results.querySelector('#more-jobs')?.remove();
  if (page.nextCursor) {
    results.append(h('button', { type: 'button', class: 'secondary', id: 'more-jobs', onclick: () => loadPage(results, api, page.nextCursor, signal) }, 'Load more'));
  }
}

async function renderOperatorList(main, { query, signal }) {
  const tenant = query.get('tenant') ?? '';
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const form = h('form', { class: 'filters', id: 'job-filters', 'aria-label': 'Filter submissions' },
    field('filter-tenant', 'Tenant', h('input', { value: tenant, placeholder: 'tenant id' })),
    field('filter-from', 'Submitted from', h('input', { type: 'datetime-local', value: from, step: 1 })),
    field('filter-to', 'Submitted before', h('input', { type: 'datetime-local', value: to, step: 1 })),
    h('button', { type: 'submit' }, 'Apply filters'));
  form.elements['filter-tenant'].name = 'tenant';
  form.elements['filter-from'].name = 'from';
  form.elements['filter-to'].name = 'to';
  form.addEventListener('submit', event => {
    event.preventDefault();
    navigate(queryHash('#/jobs', form));
  });

  const api = new URLSearchParams({ action: 'jobs.submit', limit: '100' });
  if (tenant) api.set('tenant', tenant);
  if (instant(from)) api.set('from', instant(from));
  if (instant(to)) api.set('to', instant(to));
  const page = await call('/v1/audit?' + api, { signal });
  const rows = page.entries.map(entry => {
    const id = entry.draft.target.replace(/^job\//, '');
    return [h('a', { href: '#/jobs/' + id, class: 'mono' }, id), entry.draft.tenant ?? '—', time(entry.at), entry.draft.outcome, entry.draft.transport];
  });
  replace(main, pageHeading('Jobs'),
    h('p', { class: 'muted' }, 'Operator keys cannot list jobs or cancel them: those are tenant calls in the API (GET /v1/jobs, POST /v1/jobs/{id}/cancel). ',
      'Below are the latest submissions from the audit log; opening a job reads it with this key (audited as jobs.read).'),
    openById(), form,
    section('jobs-list', 'Recent submissions (audit log)',
      table('The newest 100 submissions matching the filters', ['Job', 'Tenant', 'Submitted', 'Outcome', 'Transport'], rows,
        { id: 'jobs-table', empty: 'No submission matches these filters.' })));
}

async function renderJob(main, { id, who, signal }) {
  let job;
  try {
    job = await call('/v1/jobs/' + encodeURIComponent(id), { signal });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
      replace(main, pageHeading('Job not found'),
        h('p', { 'data-state': 'not-found' }, 'No job ', h('code', {}, id), ' is visible to this key. ',
          who.role === 'tenant' ? 'A tenant sees only its own jobs.' : ''),
        h('p', {}, h('a', { href: '#/jobs' }, 'Back to jobs')));
      return;
    }

    throw error;
  }

  const status = h('span', { id: 'job-status' });
  const details = h('div', { id: 'job-details' });
  const actions = h('div', { id: 'job-actions' });
  const changes = h('ol', { class: 'timeline', id: 'job-changes', 'aria-label': 'Changes seen' });
  const show = current => {
    job = current;
    replace(status, badge(current.status));
    replace(details, jobFacts(current));
    replace(actions, jobActions(current, who, show));
  };
  show(job);

  const history = await optional(`/v1/audit?target=${encodeURIComponent('job/' + job.id)}&limit=200`, { signal }).catch(error => ({ error }));
  replace(main,
    h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')),
    pageHeading(`Job ${job.id}`),
    h('p', {}, 'Status: ', status),
    actions,
    section('job-facts', 'Details', details),
    section('job-attempts', 'Attempts', attempts(job, history)),
    job.routing ? section('job-routing', 'Why this agent', routingTable(job.routing)) : null,
    section('job-payload', 'Payload', json(job.payload)),
    job.result !== null ? section('job-result', 'Result', json(job.result)) : null,
    who.role === 'tenant' ? section('job-events', 'Changes (live)', h('p', { class: 'muted' }, 'Each change of the job while this page is open (GET /v1/jobs/{id}/events).'), changes) : null,
    section('job-audit', 'Audit trail', auditTable(history)));

  if (who.role === 'tenant' && !Finished.has(job.status)) {
    stream(`/v1/jobs/${job.id}/events`, current => {
      changes.append(h('li', {}, h('span', { class: 'kind' }, `v${current.version}`), badge(current.status), ' ',
        current.agentId ? `agent ${current.agentId} · ` : '', time(current.updatedAt)));
      if (current.version >= job.version) show(current);
    }, signal).catch(() => { /* the stream ends with the page or the job */ });
  }
}

function jobFacts(job) {
  return facts([
    ['Type', job.type],
    ['Capability', job.capability],
    ['Pool', job.pool],
    ['Priority', String(job.priority)],
    ['Attempts', `${job.attempts} of at most ${job.maxAttempts}`],
    ['Agent (latest attempt)', job.agentId ? h('a', { href: '#/agents/' + encodeURIComponent(job.agentId) }, job.agentId) : null],
    ['Agent version', job.agentVersion],
    ['Created', time(job.createdAt)],
    ['Started', time(job.startedAt)],
    ['Completed', time(job.completedAt)],
    ['Updated', time(job.updatedAt)],
    ['Error', job.error],
    ['Idempotency key', job.idempotencyKey],
    ['Data classes', job.dataClasses.length ? job.dataClasses.join(', ') : 'none'],
    ['Usage', `${job.usage.tokensIn} tokens in, ${job.usage.tokensOut} out, cost ${job.usage.cost}`],
    ['Version', String(job.version)],
  ], 'Job details');
}

function jobActions(job, who, show) {
  if (Finished.has(job.status)) {
    return h('p', { class: 'muted' }, `The job has finished (${job.status}). The API has no retry: submit it again to run it again.`);
  }

  if (who.role !== 'tenant') {
    return h('p', { class: 'muted' }, 'Cancelling is a tenant action in the API: use the tenant\'s key.');
  }

  const reason = h('input', { maxlength: 500, placeholder: 'cancelled by the tenant' });
  const button = h('button', { type: 'submit', class: 'danger' }, 'Cancel job');
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'actions', id: 'cancel-form', 'aria-label': 'Cancel the job' }, field('cancel-reason', 'Reason (optional)', reason), button, message);
  form.addEventListener('submit', async event => {
    event.preventDefault();
    button.disabled = true;
    try {
      const cancelled = await change(`/v1/jobs/${job.id}/cancel`, 'POST', reason.value.trim() ? { reason: reason.value.trim() } : {});
      show(cancelled);
      announce(`Job ${cancelled.id} is ${cancelled.status}.`);
    } catch (error) {
      button.disabled = false;
      replace(message, errorBox(error));
    }
  });
  return form;
}

/** Attempts: the API keeps the count and the latest attempt's agent; start and end of each come from the audit log when this key can read them. */
function attempts(job, history) {
  const entries = history && !history.error ? [...history.entries].reverse() : [];
  const starts = entries.filter(e => e.draft.action === 'agent.start');
  const ends = entries.filter(e => /^agent\.(complete|fail|release)$/.test(e.draft.action));
  const rows = [];
  for (let n = 1; n <= job.attempts; n++) {
    const latest = n === job.attempts;
    rows.push([String(n),
      latest && job.agentId ? h('a', { href: '#/agents/' + encodeURIComponent(job.agentId) }, job.agentId) : '— (not kept by the API)',
      starts[n - 1] ? time(starts[n - 1].at) : '—',
      ends[n - 1] ? `${ends[n - 1].draft.action.replace('agent.', '')} at ` : latest && !Finished.has(job.status) ? 'running' : '—',
      ends[n - 1] ? time(ends[n - 1].at) : '']);
  }

  return table('Each attempt and the agent that ran it', ['Attempt', 'Agent', 'Started', 'Ended', ''], rows,
    { id: 'attempts-table', empty: 'No attempt yet: the job has not been leased.' });
}

function auditTable(history) {
  if (!history) return h('p', { class: 'empty' }, 'No audit entries.');
  if (history.error) return errorBox(history.error);
  const rows = history.entries.map(e => [time(e.at), h('code', {}, e.draft.action), `${e.draft.actor.kind} ${e.draft.actor.keyId ?? ''}`, e.draft.transport, e.draft.outcome]);
  return table('Audit entries about this job, newest first', ['When', 'Action', 'Actor', 'Transport', 'Outcome'], rows,
    { id: 'audit-table', empty: 'No audit entries visible to this key yet.' });
}

/** The routing decision of the job's latest lease: the policy, its reason and the candidates it compared (chosen first). */
function routingTable(routing) {
  const number = (value, digits) => (value === null || value === undefined ? '—' : Number(value).toFixed(digits));
  const rows = routing.candidates.map((c, i) => [
    i === 0 ? h('strong', {}, c.agentId) : c.agentId, c.version ?? '—', number(c.score, 3), number(c.successRate, 3),
    number(c.latencyMs, 1), number(c.costPerJob, 6), String(c.attempts), String(c.inFlight), String(c.limit),
  ]);
  return [
    h('p', { id: 'job-routing-summary' }, `Policy ${routing.policy}, reason ${routing.reason}: ${routing.candidatesCompared} candidates compared; the chosen agent first, lower score is better.`),
    table('Candidates the routing policy compared', ['Agent', 'Version', 'Score', 'Success rate', 'Latency (ms)', 'Cost per job', 'Attempts', 'In flight', 'Limit'], rows,
      { id: 'job-routing-table', empty: 'No candidates recorded.' }),
  ];
}
