// Tenants: the list (an operator), and one tenant's quotas, keys (metadata only: the API never returns a secret),
// budgets, pool grants and SLA report. A tenant key sees its own budgets, grants and SLA report.
import { ApiError, call, optional } from '../api.js';
import { badge, errorBox, facts, h, notAvailable, pageHeading, replace, section, table, time } from '../dom.js';
import { slaTiles } from './overview.js';

export async function render(main, context) {
  const { who, id } = context;
  if (who.role === 'tenant') {
    await renderTenant(main, { ...context, id: who.tenantId });
  } else if (id) {
    await renderTenant(main, context);
  } else {
    await renderList(main, context);
  }
}

async function renderList(main, { query, signal }) {
  const api = new URLSearchParams({ limit: '200' });
  if (query.get('cursor')) api.set('cursor', query.get('cursor'));
  const page = await call('/v1/tenants?' + api, { signal });
  const rows = page.tenants.map(t => [
    h('a', { href: '#/tenants/' + encodeURIComponent(t.id) }, t.id), t.name, t.kind, t.disabled ? badge('Disabled') : badge('Enabled'),
    t.pools.join(', '), String(t.keys.filter(k => !k.revokedAt).length), time(t.createdAt),
  ]);
  replace(main, pageHeading('Tenants'),
    section('tenants-list', 'Tenants in id order',
      table('Tenants (200 per page)', ['Tenant', 'Name', 'Kind', 'State', 'Pools', 'Active keys', 'Created'], rows, { id: 'tenants-table', empty: 'No tenants yet.' }),
      page.nextCursor ? h('p', {}, h('a', { href: '#/tenants?cursor=' + encodeURIComponent(page.nextCursor) }, 'Next page')) : null));
}

async function renderTenant(main, { id, who, signal }) {
  const operator = who.role === 'operator';
  const base = '/v1/tenants/' + encodeURIComponent(id);
  const month = new Date().toISOString().slice(0, 7);
  const slaPath = `/v1/sla/reports/${encodeURIComponent(id)}/${month}`;
  const attempt = promise => promise.then(value => ({ value }), error => { if (error.name === 'AbortError') throw error; return { error }; });
  const [tenant, budgets, grants, sla] = await Promise.all([
    operator ? attempt(call(base, { signal })) : null,
    attempt(call(base + '/budgets', { signal })),
    attempt(call(base + '/grants', { signal })),
    attempt(optional(slaPath, { signal })),
  ]);
  if (tenant?.error instanceof ApiError && tenant.error.status === 404) {
    replace(main, pageHeading('Tenant not found'), h('p', { 'data-state': 'not-found' }, 'No tenant ', h('code', {}, id), '.'));
    return;
  }

  const content = [operator ? h('p', {}, h('a', { href: '#/tenants' }, '← Tenants')) : null, pageHeading(`Tenant ${id}`)];
  if (tenant) {
    if (tenant.error) {
      content.push(errorBox(tenant.error));
    } else {
      const t = tenant.value;
      content.push(
        section('tenant-facts', 'Details', facts([
          ['Name', t.name], ['Kind', t.kind], ['State', t.disabled ? 'disabled (every key refused)' : 'enabled'],
          ['Pools', t.pools.join(', ')], ['Allowed regions', t.allowedRegions.join(', ') || 'any'],
          ['Allowed data classes', t.allowedDataClasses.join(', ') || 'any'], ['Created', time(t.createdAt)], ['Updated', time(t.updatedAt)],
        ], 'Tenant details')),
        section('tenant-quotas', 'Quotas', table('Quotas', ['Quota', 'Value'],
          Object.entries(t.quotas).map(([name, value]) => [name, String(value)]), { id: 'quotas-table' })),
        section('tenant-keys', 'API keys', h('p', { class: 'muted' }, 'Metadata only: MeshOs keeps a hash of each key, never the key.'),
          table('Keys', ['Key id', 'Name', 'Created', 'Revoked'],
            t.keys.map(k => [h('code', {}, k.keyId), k.name, time(k.createdAt), k.revokedAt ? time(k.revokedAt) : 'active']),
            { id: 'keys-table', empty: 'No keys issued.' })));
    }
  }

  content.push(section('tenant-budgets', 'Budgets', budgets.error ? errorBox(budgets.error)
    : table('Budgets and their spend this period', ['Budget', 'Limit', 'Spent', 'Used', 'State', 'Forecast', 'Runs out', 'Hard limit', 'Covers'],
      budgets.value.map(b => [b.spec.name, `${b.spec.limit} ${b.spec.currency} / ${b.spec.period}`, `${b.spent}`, `${Number(b.percent).toFixed(1)} %`,
        badge(b.state), `${b.forecast}`, time(b.runsOutAt), b.spec.hardLimit ? 'yes' : 'no',
        [b.spec.pool ? `pool ${b.spec.pool}` : 'every pool', b.spec.capability ? `, ${b.spec.capability}` : ''].join('')]),
      { id: 'budgets-table', empty: 'No budgets.' })));
  content.push(section('tenant-grants', 'Pool grants', grants.error ? errorBox(grants.error)
    : table('Agents of other owners allowed to serve this tenant\'s pools', ['Grantee', 'Pool', 'Granted', 'By', 'Revoked'],
      grants.value.map(g => [g.grantee, g.pool, time(g.grantedAt), g.grantedBy, g.revokedAt ? time(g.revokedAt) : 'active']),
      { id: 'grants-table', empty: 'No pool grants.' })));
  content.push(section('tenant-sla', `SLA report (${month})`, sla.error ? errorBox(sla.error)
    : sla.value === null ? notAvailable('SLA reports', 'GET ' + slaPath)
      : slaTiles(sla.value)));
  replace(main, ...content);
}
