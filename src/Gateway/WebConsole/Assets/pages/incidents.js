// Incidents (operator keys): the list with the API's filters, and one incident's timeline with the lifecycle actions
// the API offers: acknowledge, assign, note, investigate or mitigate, resolve, attach the post-mortem.
import { ApiError, call, change } from '../api.js';
import { announce, navigate } from '../app.js';
import { badge, duration, errorBox, facts, field, h, pageHeading, replace, section, select, table, time } from '../dom.js';

const Severities = ['P0', 'P1', 'P2', 'P3'];
const States = ['Detected', 'Triaged', 'Investigating', 'Mitigated', 'Resolved', 'PostMortem'];

export async function render(main, context) {
  if (context.who.role !== 'operator') {
    replace(main, pageHeading('Incidents'), h('p', {}, 'Incidents are for operator keys.'));
    return;
  }

  if (context.id) {
    await renderIncident(main, context);
  } else {
    await renderList(main, context);
  }
}

async function renderList(main, { query, signal }) {
  const current = { open: query.get('open') ?? '', severity: query.get('severity') ?? '', state: query.get('state') ?? '' };
  const form = h('form', { class: 'filters', id: 'incident-filters', 'aria-label': 'Filter incidents' },
    field('filter-open', 'Open or resolved', select([['', 'All'], ['true', 'Open'], ['false', 'Resolved']], current.open)),
    field('filter-severity', 'Severity', select([['', 'Any'], ...Severities.map(s => [s, s])], current.severity)),
    field('filter-state', 'State', select([['', 'Any'], ...States.map(s => [s, s])], current.state)),
    h('button', { type: 'submit' }, 'Apply filters'));
  form.addEventListener('submit', event => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, id] of [['open', 'filter-open'], ['severity', 'filter-severity'], ['state', 'filter-state']]) {
      if (form.elements[id].value) next.set(name, form.elements[id].value);
    }

    navigate(next.size ? '#/incidents?' + next : '#/incidents');
  });

  const api = new URLSearchParams({ limit: '200' });
  for (const [name, value] of Object.entries(current)) if (value) api.set(name, value);
  const page = await call('/v1/incidents?' + api, { signal });
  const rows = page.incidents.map(i => [
    h('a', { href: '#/incidents/' + encodeURIComponent(i.incidentId) }, i.title), badge(i.severity), badge(i.state),
    i.commander ?? '—', time(i.detectedAt), i.acknowledgedAt ? time(i.acknowledgedAt) : 'not yet', i.resolvedAt ? time(i.resolvedAt) : 'open',
  ]);
  replace(main, pageHeading('Incidents'), form,
    section('incidents-list', 'Incidents, newest first',
      table('Incidents matching the filters', ['Incident', 'Severity', 'State', 'Commander', 'Detected', 'Acknowledged', 'Resolved'], rows,
        { id: 'incidents-table', empty: 'No incident matches these filters.' })));
}

async function renderIncident(main, { id, signal }) {
  let answer;
  try {
    answer = await call('/v1/incidents/' + encodeURIComponent(id), { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace(main, pageHeading('Incident not found'), h('p', { 'data-state': 'not-found' }, 'No incident ', h('code', {}, id), '.'));
      return;
    }

    throw error;
  }

  const body = h('div', { id: 'incident-body' });
  const show = dto => replace(body, ...incidentView(dto, show));
  show(answer);
  replace(main, h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')), pageHeading(answer.incident.title), body);
}

function incidentView(dto, show) {
  const i = dto.incident;
  return [
    h('p', {}, 'State: ', h('span', { id: 'incident-state' }, badge(i.state)), ' ', badge(i.severity)),
    actions(i, show),
    section('incident-facts', 'Details', facts([
      ['Severity (peak)', `${i.severity} (${i.peakSeverity})`], ['Source', i.source], ['Commander', i.commander],
      ['Escalation tier', String(i.escalationTier)], ['Detected', time(i.detectedAt)], ['Acknowledged', time(i.acknowledgedAt)],
      ['Mitigated', time(i.mitigatedAt)], ['Resolved', time(i.resolvedAt)],
      ['Time to acknowledge', duration(dto.timeToAcknowledgeSeconds)], ['Time to resolve', duration(dto.timeToResolveSeconds)],
      ['Resolved automatically', i.resolvedAutomatically ? 'yes' : 'no'], ['Detail', i.detail],
    ], 'Incident details')),
    section('incident-timeline', 'Timeline', h('ol', { class: 'timeline', id: 'timeline' },
      (i.timeline ?? []).map(t => h('li', {}, time(t.at), ' ', h('span', { class: 'kind' }, t.kind), h('span', { class: 'muted' }, `${t.actor}: `), t.message)))),
    section('incident-postmortem', 'Post-mortem', i.postMortem ? postMortemView(i.postMortem) : h('p', { class: 'empty' }, 'None attached yet.')),
  ];
}

function postMortemView(pm) {
  return [facts([['Summary', pm.summary], ['Root cause', pm.rootCause], ['Author', pm.author], ['Written', time(pm.at)]], 'Post-mortem'),
    h('h3', {}, 'Action items'), h('ul', {}, pm.actionItems.map(item => h('li', {}, item)))];
}

function actions(incident, show) {
  const message = h('div', { 'aria-live': 'polite' });
  const base = '/v1/incidents/' + encodeURIComponent(incident.incidentId);
  const run = async (button, label, path, method, body) => {
    button.disabled = true;
    try {
      const dto = await change(base + path, method, body);
      show(dto);
      announce(`${label}: the incident is ${dto.incident.state}.`);
    } catch (error) {
      button.disabled = false;
      replace(message, errorBox(error));
    }
  };
  const form = (id, label, fields, submit, body, path, method = 'POST') => {
    const button = h('button', { type: 'submit' }, submit);
    const element = h('form', { class: 'actions', id, 'aria-label': label }, fields, button);
    element.addEventListener('submit', event => {
      event.preventDefault();
      run(button, submit, path, method, body());
    });
    return element;
  };

  const resolved = incident.state === 'Resolved' || incident.state === 'PostMortem';
  const parts = [];
  if (!incident.acknowledgedAt && !resolved) {
    const button = h('button', { type: 'button', id: 'acknowledge' }, 'Acknowledge');
    button.addEventListener('click', () => run(button, 'Acknowledged', '/acknowledge', 'POST', {}));
    parts.push(h('div', { class: 'actions' }, button));
  }

  if (!resolved) {
    const commander = h('input', { required: true, maxlength: 200, value: incident.commander ?? '' });
    parts.push(form('assign-form', 'Assign the commander', field('commander', 'Incident commander', commander), 'Assign',
      () => ({ commander: commander.value.trim() }), '/assign'));
    const state = h('select', {}, ['Investigating', 'Mitigated'].map(s => h('option', { value: s }, s)));
    const note = h('input', { maxlength: 2000 });
    parts.push(form('state-form', 'Advance the incident', [field('next-state', 'Next state', state), field('state-note', 'Note (optional)', note)], 'Advance',
      () => ({ state: state.value, ...(note.value.trim() ? { note: note.value.trim() } : {}) }), '/state'));
    const resolution = h('input', { maxlength: 2000 });
    parts.push(form('resolve-form', 'Resolve the incident', field('resolution', 'Resolution (optional)', resolution), 'Resolve',
      () => (resolution.value.trim() ? { resolution: resolution.value.trim() } : {}), '/resolve'));
  }

  const noteText = h('input', { required: true, maxlength: 2000 });
  parts.push(form('note-form', 'Add a note', field('note', 'Note', noteText), 'Add note', () => ({ message: noteText.value.trim() }), '/notes'));
  if (resolved) {
    const summary = h('textarea', { required: true });
    const rootCause = h('textarea', { required: true });
    const items = h('textarea', { placeholder: 'one per line' });
    const author = h('input', { maxlength: 200 });
    parts.push(form('postmortem-form', 'Attach the post-mortem',
      [field('pm-summary', 'Summary', summary), field('pm-root-cause', 'Root cause', rootCause), field('pm-items', 'Action items (one per line)', items), field('pm-author', 'Author', author)],
      'Attach post-mortem',
      () => ({ summary: summary.value.trim(), rootCause: rootCause.value.trim(), actionItems: items.value.split('\n').map(s => s.trim()).filter(Boolean), ...(author.value.trim() ? { author: author.value.trim() } : {}) }),
      '/postmortem', 'PUT'));
  }

  return h('div', { class: 'panel', role: 'group', 'aria-labelledby': 'incident-actions-title' }, h('h2', { id: 'incident-actions-title' }, 'Actions'), parts, message);
}
