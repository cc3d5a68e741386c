// The console calls the public API with the key the user pasted, exactly as curl would: x-api-key, JSON, problem
// details on errors. Whatever the key may not see, the API refuses; the console adds no access rules of its own.
import { h } from './dom.js';

const KeyItem = 'meshos.console.key';
const WhoItem = 'meshos.console.who';

/** The signed-in key, kept in sessionStorage: gone when the tab closes, never written to disk by the console. */
export const session = {
  get key() { return sessionStorage.getItem(KeyItem); },
  /** { role: 'operator' | 'tenant', tenantId?: string } */
  get who() {
    const text = sessionStorage.getItem(WhoItem);
    return text ? JSON.parse(text) : null;
  },
  start(key, who) {
    sessionStorage.setItem(KeyItem, key);
    sessionStorage.setItem(WhoItem, JSON.stringify(who));
  },
  end() {
    sessionStorage.removeItem(KeyItem);
    sessionStorage.removeItem(WhoItem);
  },
};

/** A refused or failed call: the HTTP status and the API's problem details. */
export class ApiError extends Error {
  constructor(status, title, detail, problem) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.problem = problem;
  }

  get notFound() { return this.status === 404; }

  /** The production-mfa policy refused an operator change for want of a valid TOTP code. */
  get needsSecondFactor() {
    return this.status === 403 && /production-mfa/.test(this.detail ?? '');
  }
}

/** One call. Returns the parsed JSON (null for an empty body); throws ApiError for any status but 2xx. */
export async function call(path, { method = 'GET', body, key = session.key, otp, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (key) headers['x-api-key'] = key;
  if (otp) headers['X-MeshOs-Otp'] = otp;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The gateway did not answer', String(error.message ?? error));
  }

  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!response.ok) {
    const title = parsed?.title ?? `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, title, parsed?.detail ?? (parsed ? null : text || null), parsed);
  }

  return parsed;
}

/** A GET that answers null instead of throwing when the endpoint (or the object) is not there (404). */
export async function optional(path, options) {
  try {
    return await call(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.notFound) return null;
    throw error;
  }
}

/**
 * A change (POST, PUT, DELETE). When the mesh enforces production-mfa and the call is refused for want of a second
 * factor, asks for the key's current TOTP code and tries once more with it (X-MeshOs-Otp); a code is good for one call.
 */
export async function change(path, method, body) {
  try {
    return await call(path, { method, body });
  } catch (error) {
    if (!(error instanceof ApiError) || !error.needsSecondFactor) throw error;
    const otp = await askSecondFactor(error.detail);
    if (!otp) throw error;
    return await call(path, { method, body, otp });
  }
}

/** The TOTP prompt: a modal dialog with a labelled field; resolves with the code, or null when cancelled. */
function askSecondFactor(reason) {
  return new Promise(resolve => {
    const input = h('input', { id: 'otp-code', name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', required: true, maxlength: 6 });
    const cancel = h('button', { type: 'button', value: 'cancel', class: 'secondary' }, 'Cancel');
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'otp-title' }, 'Second factor needed'),
      h('p', {}, 'This is a production action and the production-mfa policy is enforced. Enter the current code of this key\'s authenticator (TOTP).'),
      h('p', { class: 'muted' }, reason ?? ''),
      h('div', { class: 'field' }, h('label', { for: 'otp-code' }, 'TOTP code'), input),
      h('div', { class: 'actions' }, h('button', { type: 'submit', value: 'ok' }, 'Send'), cancel));
    const dialog = h('dialog', { 'aria-labelledby': 'otp-title' }, form);
    cancel.addEventListener('click', () => dialog.close('cancel'));
    dialog.addEventListener('close', () => {
      const code = dialog.returnValue === 'ok' ? input.value.trim() : null;
      dialog.remove();
      resolve(code || null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/**
 * Who a key is, asked of the API itself: a tenant key (mk.{tenant}.{id}.{secret}) must be able to list its jobs, any
 * other key must be able to list tenants (an operator key). Throws ApiError (401 for an unknown or revoked key).
 */
export async function identify(key) {
  const tenant = /^mk\.([a-z0-9][a-z0-9-]{0,62})\.[^.]+\.[^.]+$/.exec(key);
  if (tenant) {
    await call('/v1/jobs?limit=1', { key });
    return { role: 'tenant', tenantId: tenant[1] };
  }

  await call('/v1/tenants?limit=1', { key });
  return { role: 'operator' };
}

/**
 * Server-sent events of a GET endpoint read with fetch (EventSource cannot send the key header). Calls onEvent with
 * each event's parsed data until the stream ends or the signal aborts.
 */
export async function stream(path, onEvent, signal) {
  const response = await fetch(path, { headers: { 'x-api-key': session.key, accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (!response.ok || !response.body) {
    throw new ApiError(response.status, `${response.status} ${response.statusText}`, await response.text());
  }

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter(line => line.startsWith('data:')).map(line => line.slice(5).trimStart()).join('\n');
      if (data) onEvent(JSON.parse(data));
    }
  }
}
