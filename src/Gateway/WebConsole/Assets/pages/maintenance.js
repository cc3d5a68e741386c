// Maintenance windows: read from GET /v1/maintenance-windows where this server has it (the KPI service of issue 16);
// otherwise the page says so. The shape is the KPI service's; common field names are read.
import { optional } from '../api.js';
import { h, notAvailable, pageHeading, replace, section, table, time } from '../dom.js';

export async function render(main, { signal }) {
  const data = await optional('/v1/maintenance-windows', { signal });
  if (data === null) {
    replace(main, pageHeading('Maintenance windows'),
      notAvailable('Maintenance windows', 'GET /v1/maintenance-windows'),
      h('p', { class: 'muted' }, 'The runbook\'s default: every month on the 3rd Sunday, 02:00–06:00 UTC; emergency windows of at most 2 hours.'));
    return;
  }

  const windows = Array.isArray(data) ? data : data.windows ?? data.items ?? [];
  const rows = windows.map(w => [
    w.id ?? w.windowId ?? '—', w.kind ?? w.type ?? '—', time(w.start ?? w.startsAt ?? w.from), time(w.end ?? w.endsAt ?? w.to),
    w.title ?? w.reason ?? w.description ?? '', w.tenant ?? w.tenantId ?? 'all tenants', w.announcedAt ? time(w.announcedAt) : '—',
  ]);
  replace(main, pageHeading('Maintenance windows'),
    section('windows', 'Windows', table('Maintenance windows (minutes inside them do not count against availability)',
      ['Window', 'Kind', 'Starts', 'Ends', 'Why', 'Tenants', 'Announced'], rows, { id: 'windows-table', empty: 'No maintenance windows.' })));
}
