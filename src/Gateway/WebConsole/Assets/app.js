// The console's shell: login, navigation (hash routes, so the gateway serves one page), and the page modules.
import { ApiError, identify, session } from './api.js';
import { errorBox, h, pageHeading, replace } from './dom.js';
import * as overview from './pages/overview.js';
import * as jobs from './pages/jobs.js';
import * as agents from './pages/agents.js';
import * as tenants from './pages/tenants.js';
import * as incidents from './pages/incidents.js';
import * as maintenance from './pages/maintenance.js';

const pages = { overview, jobs, agents, tenants, incidents, maintenance };
const main = document.getElementById('main');
let current = null;

/** Parses '#/jobs/123?status=Pending' into { page: 'jobs', id: '123', query: URLSearchParams }. */
function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const [page, ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: page || 'overview', id: rest[0] ?? null, query: new URLSearchParams(query ?? '') };
}

/** Goes to a console route; the hash change renders it. */
export function navigate(hash) {
  if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

/** A short message for the screen reader and the eye, e.g. after an action. */
export function announce(text) {
  const toast = document.getElementById('toast');
  toast.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { toast.textContent = ''; }, 6000);
}

async function render() {
  current?.abort();
  current = new AbortController();
  const who = session.who;
  const { page, id, query } = route();
  showShell(who, page);
  if (!who || page === 'login') {
    renderLogin();
    return;
  }

  const module = pages[page];
  main.dataset.page = page;
  main.setAttribute('aria-busy', 'true');
  if (!module) {
    replace(main, pageHeading('Page not found'), h('p', {}, 'No console page is called ', h('code', {}, page), '. ', h('a', { href: '#/overview' }, 'Go to the overview.')));
  } else {
    replace(main, h('p', { class: 'muted' }, 'Loading…'));
    const signal = current.signal;
    try {
      await module.render(main, { who, id, query, signal });
    } catch (error) {
      if (error.name === 'AbortError' || signal.aborted) return;
      if (error instanceof ApiError && error.status === 401) {
        session.end();
        navigate('#/login');
        return;
      }

      replace(main, pageHeading('Something went wrong'), errorBox(error));
    }

    if (signal.aborted) return;
  }

  main.setAttribute('aria-busy', 'false');
  const title = document.getElementById('page-title');
  document.title = `${title?.textContent ?? 'Console'} · MeshOs`;
  title?.focus({ preventScroll: true });
}

function showShell(who, page) {
  const nav = document.getElementById('nav');
  const whoBox = document.getElementById('who');
  nav.hidden = !who;
  whoBox.hidden = !who;
  if (!who) return;
  document.getElementById('who-text').textContent = who.role === 'operator' ? 'Operator key' : `Tenant ${who.tenantId}`;
  for (const link of nav.querySelectorAll('a')) {
    link.parentElement.hidden = link.dataset.role === 'operator' && who.role !== 'operator';
    if (link.dataset.page === page) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

function renderLogin() {
  main.dataset.page = 'login';
  const input = h('input', { id: 'api-key', name: 'apiKey', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const message = h('div', { id: 'login-message', 'aria-live': 'polite' });
  const form = h('form', { class: 'login', id: 'login-form' },
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key (operator or tenant)'), input),
    h('p', { class: 'muted' }, 'The key stays in this tab (sessionStorage) and is sent as x-api-key to this gateway only. ',
      'A tenant key sees its own jobs, agents and budgets; an operator key sees the fleet.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Log in')),
    message);
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const key = input.value.trim();
    replace(message);
    try {
      const who = await identify(key);
      session.start(key, who);
      navigate('#/overview');
    } catch (error) {
      replace(message, errorBox(error.status === 401 ? 'That key is not valid (unknown, revoked, or its tenant is disabled).' : error));
    }
  });
  replace(main, pageHeading('Log in'), form);
  main.setAttribute('aria-busy', 'false');
  document.title = 'Log in · MeshOs';
  input.focus();
}

document.getElementById('logout').addEventListener('click', () => {
  session.end();
  navigate('#/login');
});
window.addEventListener('hashchange', render);
render();
